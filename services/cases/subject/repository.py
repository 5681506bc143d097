"""SQL of subjects (persons/households) and their cases."""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

OPEN_STATES = "('received','graded','assigned','in_progress','suspended','returned','resolved','replied','revisited')"


async def upsert(session: AsyncSession, keys: list[str], name: str | None, area_code: str | None, now: datetime) -> uuid.UUID:
    """The subject known by any of `keys` (ID-number hash first, then phone hash), or a new one; every
    key given is recorded for it, so the next report matches by either."""
    found = (
        await session.execute(
            text("SELECT subject_id FROM cases.subject_keys WHERE key_hash = ANY(:k) ORDER BY array_position(CAST(:k AS text[]), key_hash) LIMIT 1"),
            {"k": keys},
        )
    ).scalar()
    if found is None:
        found = (
            await session.execute(
                text(
                    """INSERT INTO cases.subjects (id, key_hash, name, area_code, updated_at) VALUES (:id, :k, :n, :a, :now)
                       ON CONFLICT (key_hash) DO UPDATE SET updated_at = :now RETURNING id"""
                ),
                {"id": uuid.uuid4(), "k": keys[0], "n": name, "a": area_code, "now": now},
            )
        ).scalar_one()
    await session.execute(
        text("UPDATE cases.subjects SET name = COALESCE(:n, name), updated_at = :now WHERE id = :id"), {"id": found, "n": name, "now": now}
    )
    await session.execute(
        text("INSERT INTO cases.subject_keys (key_hash, subject_id) SELECT k, :s FROM unnest(CAST(:k AS text[])) k ON CONFLICT DO NOTHING"),
        {"k": keys, "s": found},
    )
    return found


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
    ).first()
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
    return [r.subject_id for r in await session.execute(text("SELECT subject_id FROM cases.subject_cases WHERE case_id = :c"), {"c": case_id})]


async def recompute_risk(session: AsyncSession, subject_ids: list[uuid.UUID], now: datetime) -> list[Any]:
    """Risk from the cases: high — an open major/backlog case or ≥3 cases; medium — an open complex case
    or 2 cases; low — one open case; safe — nothing open. Returns the subjects that just became high."""
    if not subject_ids:
        return []
    result = await session.execute(
        text(
            f"""WITH before AS (SELECT id, risk FROM cases.subjects WHERE id = ANY(:s) FOR UPDATE),
                stats AS (
                  SELECT sc.subject_id, count(*) AS total,
                         count(*) FILTER (WHERE c.state IN {OPEN_STATES}) AS open,
                         count(*) FILTER (WHERE c.state IN {OPEN_STATES} AND c.level IN ('major','petition_backlog')) AS open_major,
                         count(*) FILTER (WHERE c.state IN {OPEN_STATES} AND c.level = 'complex') AS open_complex
                  FROM cases.subject_cases sc JOIN cases.cases c ON c.id = sc.case_id
                  WHERE sc.subject_id = ANY(:s) AND c.state NOT IN ('merged','rejected') GROUP BY sc.subject_id)
                UPDATE cases.subjects s SET case_count = stats.total, open_cases = stats.open, updated_at = :now,
                  risk = CASE WHEN stats.open_major > 0 OR stats.total >= 3 THEN 'high'
                              WHEN stats.open_complex > 0 OR stats.total = 2 THEN 'medium'
                              WHEN stats.open > 0 THEN 'low' ELSE 'safe' END
                FROM stats, before WHERE s.id = stats.subject_id AND before.id = s.id
                RETURNING s.id, s.name, s.area_code, s.case_count, before.risk AS was, s.risk"""
        ),
        {"s": subject_ids, "now": now},
    )
    return [r for r in result if r.risk == "high" and r.was != "high"]


async def list_subjects(session: AsyncSession, scope_sql: str, params: dict[str, Any], risk: str | None, limit: int, after: tuple[str, uuid.UUID] | None) -> list[Any]:
    where = [f"EXISTS (SELECT 1 FROM cases.subject_cases sc JOIN cases.cases c ON c.id = sc.case_id WHERE sc.subject_id = s.id AND {scope_sql})"]
    if risk:
        where.append("s.risk = :risk")
        params["risk"] = risk
    if after:
        where.append("(s.updated_at, s.id) < (CAST(:a AS timestamptz), :i)")
        params["a"], params["i"] = after
    sql = f"""SELECT s.id, s.kind, s.name, s.area_code, s.risk, s.case_count, s.open_cases, s.updated_at,
                     ARRAY(SELECT c.number FROM cases.subject_cases sc JOIN cases.cases c ON c.id = sc.case_id
                           WHERE sc.subject_id = s.id AND {scope_sql} ORDER BY c.created_at) AS case_numbers
              FROM cases.subjects s WHERE {' AND '.join(where)} ORDER BY s.updated_at DESC, s.id DESC LIMIT :n"""
    return list(await session.execute(text(sql), {**params, "n": limit}))
