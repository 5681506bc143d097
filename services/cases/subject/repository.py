"""SQL of subjects (persons/households) and their cases."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.cases.db import case_scope_params, case_scope_sql

OPEN_STATES = "('received','graded','assigned','in_progress','suspended','returned','resolved','replied','revisited')"


@dataclass
class Party:
    """A party of a new case as matching needs it: its keyed hashes (ID number's first), name and role."""

    keys: list[str]
    name: str | None
    role: str | None


def _plan(
    parties: list[Party], known: dict[str, uuid.UUID]
) -> tuple[list[uuid.UUID], dict[uuid.UUID, tuple[str, str | None, bool]], dict[str, uuid.UUID]]:
    """Match the parties one after another, as reports would be: each is the subject known by its first key
    found (ID-number hash first) — known before, or recorded by an earlier party of this case — or a new one
    keyed by its first key; each records every key it gave (a key already taken stays with its subject).
    Returns each party's subject, per subject (its key, its name — the last given wins —, is it new) and the
    keys to record."""
    keys = dict(known)
    chosen: list[uuid.UUID] = []
    subjects: dict[uuid.UUID, tuple[str, str | None, bool]] = {}
    record: dict[str, uuid.UUID] = {}
    for party in parties:
        sid = next((keys[k] for k in party.keys if k in keys), None)
        if sid is None:
            sid = uuid.uuid4()
            subjects[sid] = (party.keys[0], party.name, True)
        else:
            key, name, new = subjects.get(sid, (party.keys[0], None, False))
            subjects[sid] = (key, party.name if party.name is not None else name, new)
        for k in party.keys:
            if k not in keys:
                keys[k] = record[k] = sid
        chosen.append(sid)
    return chosen, subjects, record


# New subjects inserted (a concurrent report that created the same person first wins: its row is reused),
# known ones renamed, every new key recorded, and the case linked to each subject (the first party's
# role) — one statement.
_UPSERT = text(
    """WITH s(sid, key_hash, name, is_new) AS (
         SELECT * FROM unnest(CAST(:sid AS uuid[]), CAST(:skey AS text[]), CAST(:sname AS text[]),
                              CAST(:snew AS boolean[]))),
       ins AS (
         INSERT INTO cases.subjects (id, key_hash, name, area_code, updated_at)
         SELECT sid, key_hash, name, :area, :now FROM s WHERE is_new
         ON CONFLICT (key_hash) DO UPDATE SET name = COALESCE(EXCLUDED.name, cases.subjects.name),
                                              updated_at = EXCLUDED.updated_at
         RETURNING id, key_hash),
       resolved AS (
         SELECT s.sid, COALESCE(ins.id, s.sid) AS id FROM s LEFT JOIN ins ON s.is_new AND ins.key_hash = s.key_hash),
       renamed AS (
         UPDATE cases.subjects t SET name = COALESCE(s.name, t.name), updated_at = :now
         FROM s WHERE t.id = s.sid AND NOT s.is_new RETURNING t.id),
       recorded AS (
         INSERT INTO cases.subject_keys (key_hash, subject_id)
         SELECT k.key_hash, r.id FROM unnest(CAST(:kkey AS text[]), CAST(:ksid AS uuid[])) AS k(key_hash, sid)
         JOIN resolved r ON r.sid = k.sid
         ON CONFLICT DO NOTHING RETURNING key_hash),
       linked AS (
         INSERT INTO cases.subject_cases (subject_id, case_id, role)
         SELECT DISTINCT ON (r.id) r.id, :case_id, l.role
         FROM unnest(CAST(:lsid AS uuid[]), CAST(:lrole AS text[])) WITH ORDINALITY AS l(sid, role, ord)
         JOIN resolved r ON r.sid = l.sid
         ORDER BY r.id, l.ord
         ON CONFLICT DO NOTHING RETURNING subject_id)
       SELECT sid, id FROM resolved"""
)


async def upsert_parties(
    session: AsyncSession, case_id: uuid.UUID, parties: list[Party], area_code: str | None, now: datetime
) -> list[uuid.UUID]:
    """The subject of each party (matched by any of its keyed hashes, ID-number hash first, or new), every
    key recorded, names updated, the case linked to them — two statements for all parties together.
    Returns each party's subject id, in the parties' order."""
    parties = [p for p in parties if p.keys]
    if not parties:
        return []
    wanted = list(dict.fromkeys(k for p in parties for k in p.keys))
    known = {
        r.key_hash: r.subject_id
        for r in await session.execute(
            text("SELECT key_hash, subject_id FROM cases.subject_keys WHERE key_hash = ANY(:k)"), {"k": wanted}
        )
    }
    chosen, subjects, record = _plan(parties, known)
    ids = list(subjects)
    rows = await session.execute(
        _UPSERT,
        {
            "sid": ids,
            "skey": [subjects[i][0] for i in ids],
            "sname": [subjects[i][1] for i in ids],
            "snew": [subjects[i][2] for i in ids],
            "kkey": list(record),
            "ksid": list(record.values()),
            "lsid": chosen,
            "lrole": [p.role for p in parties],
            "area": area_code,
            "now": now,
            "case_id": case_id,
        },
    )
    actual = {r.sid: r.id for r in rows}
    return [actual[sid] for sid in chosen]


async def party_villages(session: AsyncSession, case_id: uuid.UUID) -> int:
    """Distinct villages (社区) the case's parties belong to: a party's village is that of the grid where it
    was first reported (its earlier cases), so 0 when no party is known."""
    return int(
        (
            await session.execute(
                text(
                    """SELECT count(DISTINCT v.code) FROM cases.subject_cases sc
                       JOIN cases.subjects s ON s.id = sc.subject_id
                       JOIN cases.areas a ON a.code = s.area_code
                       JOIN cases.areas v ON v.code = ANY(a.path) AND v.level = 'village'
                       WHERE sc.case_id = :c"""
                ),
                {"c": case_id},
            )
        ).scalar()
        or 0
    )


async def history(session: AsyncSession, subject_ids: list[uuid.UUID], exclude_case: uuid.UUID) -> tuple[int, int]:
    """(most earlier cases of any one subject, most open cases of any one subject), this case excluded."""
    if not subject_ids:
        return 0, 0
    row = (
        await session.execute(
            text(
                f"""SELECT COALESCE(max(total), 0) AS prior, COALESCE(max(open), 0) AS open FROM (
                      SELECT sc.subject_id, count(*) AS total, count(*) FILTER (WHERE c.state IN {OPEN_STATES}) AS open
                      FROM cases.subject_cases sc JOIN cases.cases c ON c.id = sc.case_id
                      WHERE sc.subject_id = ANY(:s) AND sc.case_id <> :c GROUP BY sc.subject_id) t"""
            ),
            {"s": subject_ids, "c": exclude_case},
        )
    ).one()  # an aggregate: always one row
    return int(row.prior), int(row.open)


async def link(session: AsyncSession, subject_id: uuid.UUID, case_id: uuid.UUID, role: str | None) -> None:
    await session.execute(
        text("INSERT INTO cases.subject_cases (subject_id, case_id, role) VALUES (:s, :c, :r) ON CONFLICT DO NOTHING"),
        {"s": subject_id, "c": case_id, "r": role},
    )


async def linked_cases(session: AsyncSession, subject_ids: list[uuid.UUID], exclude_case: uuid.UUID) -> list[uuid.UUID]:
    result = await session.execute(
        text("SELECT DISTINCT case_id FROM cases.subject_cases WHERE subject_id = ANY(:s) AND case_id <> :c"),
        {"s": subject_ids, "c": exclude_case},
    )
    return [r.case_id for r in result]


async def of_case(session: AsyncSession, case_id: uuid.UUID) -> list[uuid.UUID]:
    return [
        r.subject_id
        for r in await session.execute(
            text("SELECT subject_id FROM cases.subject_cases WHERE case_id = :c"), {"c": case_id}
        )
    ]


async def case_counts(session: AsyncSession, subject_ids: list[uuid.UUID]) -> dict[uuid.UUID, Any]:
    """The subjects locked (FOR UPDATE, in id order), each with its risk before and its cases (merged and
    rejected left out) per grade: {subject: (row, [(level, total, open), …])}."""
    if not subject_ids:
        return {}
    locked = await session.execute(
        text(
            """SELECT id, name, area_code, risk, next_visit_at FROM cases.subjects
               WHERE id = ANY(:s) ORDER BY id FOR UPDATE"""
        ),
        {"s": subject_ids},
    )
    out: dict[uuid.UUID, Any] = {r.id: (r, []) for r in locked}
    result = await session.execute(
        text(
            f"""SELECT sc.subject_id, c.level, count(*) AS total,
                       count(*) FILTER (WHERE c.state IN {OPEN_STATES}) AS open
                FROM cases.subject_cases sc JOIN cases.cases c ON c.id = sc.case_id
                WHERE sc.subject_id = ANY(:s) AND c.state NOT IN ('merged','rejected')
                GROUP BY sc.subject_id, c.level"""
        ),
        {"s": list(out)},
    )
    for r in result:
        out[r.subject_id][1].append((r.level, int(r.total), int(r.open)))
    return out


async def set_risk(session: AsyncSession, updates: list[dict[str, Any]], now: datetime) -> None:
    """Each subject's risk, case counts and next scheduled visit, one statement for all."""
    if not updates:
        return
    await session.execute(
        text(
            """UPDATE cases.subjects s SET risk = u.risk, case_count = u.total, open_cases = u.open,
                 next_visit_at = u.visit, updated_at = :now
               FROM unnest(CAST(:id AS uuid[]), CAST(:risk AS text[]), CAST(:total AS int[]), CAST(:open AS int[]),
                           CAST(:visit AS timestamptz[])) AS u(id, risk, total, open, visit)
               WHERE s.id = u.id"""
        ),
        {
            "id": [u["id"] for u in updates],
            "risk": [u["risk"] for u in updates],
            "total": [u["total"] for u in updates],
            "open": [u["open"] for u in updates],
            "visit": [u["next_visit_at"] for u in updates],
            "now": now,
        },
    )


async def claim_due_visits(session: AsyncSession, now: datetime, n: int) -> list[Any]:
    """Up to `n` subjects whose scheduled visit is due, locked (rows another replica holds are skipped)."""
    result = await session.execute(
        text(
            """SELECT id, name, risk, next_visit_at FROM cases.subjects
               WHERE next_visit_at IS NOT NULL AND next_visit_at <= :now
               ORDER BY next_visit_at LIMIT :n FOR UPDATE SKIP LOCKED"""
        ),
        {"now": now, "n": n},
    )
    return list(result)


async def latest_cases(session: AsyncSession, subject_ids: list[uuid.UUID]) -> dict[uuid.UUID, Any]:
    """Each subject's latest case (merged and rejected left out) with the grid workers who reported it."""
    if not subject_ids:
        return {}
    result = await session.execute(
        text(
            """SELECT DISTINCT ON (sc.subject_id) sc.subject_id, c.id AS case_id,
                      ARRAY(SELECT DISTINCT cr.worker_id FROM cases.case_reports cr
                            WHERE cr.case_id = c.id AND cr.worker_id IS NOT NULL ORDER BY cr.worker_id) AS workers
               FROM cases.subject_cases sc JOIN cases.cases c ON c.id = sc.case_id
               WHERE sc.subject_id = ANY(:s) AND c.state NOT IN ('merged','rejected')
               ORDER BY sc.subject_id, c.created_at DESC, c.number DESC"""
        ),
        {"s": subject_ids},
    )
    return {r.subject_id: r for r in result}


async def set_next_visits(session: AsyncSession, visits: list[tuple[uuid.UUID, datetime | None]]) -> None:
    if not visits:
        return
    await session.execute(
        text(
            """UPDATE cases.subjects s SET next_visit_at = u.at
               FROM unnest(CAST(:id AS uuid[]), CAST(:at AS timestamptz[])) AS u(id, at) WHERE s.id = u.id"""
        ),
        {"id": [v[0] for v in visits], "at": [v[1] for v in visits]},
    )


async def list_subjects(
    session: AsyncSession,
    scope: dict[str, Any],
    risk: str | None,
    limit: int,
    after: tuple[str, uuid.UUID] | None,
) -> list[Any]:
    """The subjects with a case `scope` (the case domain's scope) sees, last updated first; each with the
    numbers of those of its cases the scope sees."""
    scope_sql = case_scope_sql(scope)
    params = case_scope_params(scope)
    where = [
        "EXISTS (SELECT 1 FROM cases.subject_cases sc JOIN cases.cases c ON c.id = sc.case_id"
        f" WHERE sc.subject_id = s.id AND {scope_sql})"
    ]
    if risk:
        where.append("s.risk = :risk")
        params["risk"] = risk
    if after:
        where.append("(s.updated_at, s.id) < (CAST(:a AS timestamptz), :i)")
        params["a"], params["i"] = after
    sql = f"""SELECT s.id, s.kind, s.name, s.area_code, s.risk, s.case_count, s.open_cases, s.updated_at,
                     ARRAY(SELECT c.number FROM cases.subject_cases sc JOIN cases.cases c ON c.id = sc.case_id
                           WHERE sc.subject_id = s.id AND {scope_sql} ORDER BY c.created_at) AS case_numbers
              FROM cases.subjects s WHERE {" AND ".join(where)} ORDER BY s.updated_at DESC, s.id DESC LIMIT :n"""
    return list(await session.execute(text(sql), {**params, "n": limit}))
