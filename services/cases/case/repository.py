"""SQL of cases, the reports they are made of, their grades and their timeline: creation from a report,
scoped reads, the actions' updates."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.cases.case.schemas import TimelineEntry
from services.cases.db import case_scope_params, case_scope_sql, overdue_sql

_SUMMARY_COLS = (
    "id, number, state, kind, category, title, area_code, tier, level, handling, people_involved, amount_cny,"
    " created_at, updated_at, channel, external_ref"
)
# what the ledger 台账 adds: the parties (masked when written), the outcome, the responsible unit, the
# departments whistled (吹哨, with their role; called-off whistles left out), the satisfaction
_LEDGER_COLS = (
    "parties, resolution->>'outcome' AS outcome, responsible_unit, satisfaction, ARRAY(SELECT lw.department_code ||"
    " ':' || lw.role FROM cases.whistles lw WHERE lw.case_id = c.id AND lw.state <> 'cancelled'"
    " ORDER BY lw.created_at, lw.department_code) AS departments"
)


async def case_for_report(session: AsyncSession, report_id: uuid.UUID) -> uuid.UUID | None:
    return (
        await session.execute(text("SELECT case_id FROM cases.case_reports WHERE report_id = :r"), {"r": report_id})
    ).scalar()


async def insert_case(session: AsyncSession, row: dict[str, Any], day: str) -> str:
    return (
        await session.execute(
            text(
                """INSERT INTO cases.cases (id, number, state, kind, category, title, description, area_code, area_path,
                     reporter_id, parties, people_involved, amount_cny, flags, location, attachments, occurred_at,
                     channel, external_ref, registered_by, created_at, updated_at)
                   VALUES (:id, 'C' || :day || '-' || lpad(nextval('cases.case_number_seq')::text, 6, '0'),
                     :state, :kind, :category, :title, :description, :area_code, :area_path, :reporter_id,
                     CAST(:parties AS jsonb),
                     :people_involved, CAST(:amount_cny AS numeric), CAST(:flags AS jsonb), CAST(:location AS jsonb),
                     CAST(:attachments AS jsonb), :occurred_at, :channel, :external_ref, :registered_by, :now, :now)
                   RETURNING number"""
            ),
            {
                "channel": "grid",
                "external_ref": None,
                "registered_by": None,
                **row,
                "day": day,
                "parties": orjson.dumps(row["parties"]).decode(),
                "flags": orjson.dumps(row["flags"]).decode(),
                "location": orjson.dumps(row["location"]).decode() if row["location"] is not None else None,
                "attachments": orjson.dumps(row["attachments"]).decode(),
            },
        )
    ).scalar_one()


async def link_report(
    session: AsyncSession,
    report_id: uuid.UUID,
    report_no: str,
    case_id: uuid.UUID,
    worker_id: str,
    received_at: datetime,
) -> None:
    await session.execute(
        text(
            """INSERT INTO cases.case_reports (report_id, report_no, case_id, worker_id, received_at)
               VALUES (:r, :n, :c, :w, :at)"""
        ),
        {"r": report_id, "n": report_no, "c": case_id, "w": worker_id, "at": received_at},
    )


async def add_timeline_entries(session: AsyncSession, entries: Sequence[TimelineEntry]) -> None:
    """Append entries to cases' timelines (一事一档, never edited), in the order given, in one statement."""
    if not entries:
        return
    await session.execute(
        text(
            """INSERT INTO cases.timeline (case_id, at, actor, action, from_state, to_state, note, data)
               SELECT c, at, actor, action, f, t, note, CAST(data AS jsonb)
               FROM unnest(CAST(:c AS uuid[]), CAST(:at AS timestamptz[]), CAST(:actor AS text[]),
                           CAST(:action AS text[]), CAST(:f AS text[]), CAST(:t AS text[]), CAST(:note AS text[]),
                           CAST(:data AS text[]))
                 WITH ORDINALITY AS e(c, at, actor, action, f, t, note, data, ord)
               ORDER BY ord"""
        ),
        {
            "c": [e.case_id for e in entries],
            "at": [e.at for e in entries],
            "actor": [e.actor for e in entries],
            "action": [e.action for e in entries],
            "f": [e.from_state for e in entries],
            "t": [e.to_state for e in entries],
            "note": [e.note for e in entries],
            "data": [orjson.dumps(e.data).decode() if e.data else None for e in entries],
        },
    )


async def list_cases(
    session: AsyncSession,
    scope: dict[str, Any],
    filters: dict[str, Any],
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
    ledger: bool = False,
) -> list[Any]:
    where = [case_scope_sql(scope)]
    params: dict[str, Any] = {**case_scope_params(scope), "n": limit}
    for col in ("state", "kind", "category", "level", "tier"):
        if filters.get(col):
            where.append(f"c.{col} = :{col}")
            params[col] = filters[col]
    if filters.get("department"):
        where.append(
            "EXISTS (SELECT 1 FROM cases.whistles fw WHERE fw.case_id = c.id AND fw.department_code = :department)"
        )
        params["department"] = filters["department"]
    if filters.get("overdue"):
        where.append(
            f"EXISTS (SELECT 1 FROM cases.deadlines od WHERE od.case_id = c.id AND {overdue_sql('od', 'now_ts')})"
        )
        params["now_ts"] = filters["now"]
    if filters.get("due_before"):
        where.append(
            "EXISTS (SELECT 1 FROM cases.deadlines dd WHERE dd.case_id = c.id AND dd.state = 'pending' AND dd.due_at "
            "< :due_before)"
        )
        params["due_before"] = filters["due_before"]
    if filters.get("area"):
        where.append("c.area_path @> ARRAY[CAST(:area AS text)]")
        params["area"] = filters["area"]
    if filters.get("handling") is not None:  # the queue of these centres: the cases they handle now
        where.append("c.handling && CAST(:handling AS text[])")
        params["handling"] = list(filters["handling"])
    if filters.get("created_from"):
        where.append("c.created_at >= :created_from")
        params["created_from"] = filters["created_from"]
    if filters.get("created_to"):
        where.append("c.created_at < :created_to")
        params["created_to"] = filters["created_to"]
    if filters.get("report"):
        where.append(
            "c.id IN (SELECT case_id FROM cases.case_reports WHERE report_no = :report OR CAST(report_id AS text) = "
            ":report)"
        )
        params["report"] = filters["report"]
    if filters.get("q"):
        where.append("(c.title ILIKE :q OR c.description ILIKE :q OR c.number = :qexact OR c.external_ref = :qexact)")
        params["q"] = "%" + filters["q"].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        params["qexact"] = filters["q"]
    if filters.get("external_ref"):
        where.append("c.external_ref = :external_ref")
        params["external_ref"] = filters["external_ref"]
    if filters.get("party_keys"):
        # the person by the keyed hash of an ID number or phone (subjects: every key a person is known by)
        where.append(
            "c.id IN (SELECT psc.case_id FROM cases.subject_keys pk JOIN cases.subject_cases psc"
            " ON psc.subject_id = pk.subject_id WHERE pk.key_hash = ANY(CAST(:party_keys AS text[])))"
        )
        params["party_keys"] = list(filters["party_keys"])
    if filters.get("party_name"):
        where.append("EXISTS (SELECT 1 FROM jsonb_array_elements(c.parties) pn WHERE pn->>'name' LIKE :party_name)")
        params["party_name"] = filters["party_name"].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    if after:
        where.append("(c.created_at, c.id) < (:after_at, :after_id)")
        params["after_at"], params["after_id"] = after
    cols = f"{_SUMMARY_COLS}, {_LEDGER_COLS}" if ledger else _SUMMARY_COLS
    sql = f"SELECT {cols} FROM cases.cases c WHERE {' AND '.join(where)} ORDER BY c.created_at DESC, c.id DESC LIMIT :n"
    return list(await session.execute(text(sql), params))


async def related_cases(session: AsyncSession, scope: dict[str, Any], case_ids: list[uuid.UUID]) -> list[Any]:
    """(of_case, id, number, state, level) of the other cases sharing a subject with each of `case_ids`
    (subjects are matched by keyed hash only), those in `scope`, newest first, at most 50 a case."""
    if not case_ids:
        return []
    sql = f"""SELECT of_case, id, number, state, level FROM (
                SELECT DISTINCT ON (mine.case_id, c.id) mine.case_id AS of_case, c.id, c.number, c.state, c.level,
                       c.created_at
                FROM cases.subject_cases mine
                JOIN cases.subject_cases other ON other.subject_id = mine.subject_id AND other.case_id <> mine.case_id
                JOIN cases.cases c ON c.id = other.case_id
                WHERE mine.case_id = ANY(:ids) AND {case_scope_sql(scope)}
                ORDER BY mine.case_id, c.id) r
              ORDER BY of_case, created_at DESC, id DESC"""
    rows = list(await session.execute(text(sql), {"ids": case_ids, **case_scope_params(scope)}))
    kept: dict[uuid.UUID, int] = {}
    out = []
    for r in rows:
        kept[r.of_case] = kept.get(r.of_case, 0) + 1
        if kept[r.of_case] <= 50:
            out.append(r)
    return out


async def get_case(session: AsyncSession, case_id: uuid.UUID, scope: dict[str, Any]) -> Any:
    sql = f"SELECT c.* FROM cases.cases c WHERE c.id = :id AND {case_scope_sql(scope)}"
    return (await session.execute(text(sql), {"id": case_id, **case_scope_params(scope)})).first()


async def reports_of(session: AsyncSession, case_id: uuid.UUID) -> list[Any]:
    result = await session.execute(
        text(
            "SELECT report_id, report_no, received_at FROM cases.case_reports WHERE case_id = :c ORDER BY received_at"
        ),
        {"c": case_id},
    )
    return list(result)


async def timeline_of(session: AsyncSession, case_id: uuid.UUID) -> list[Any]:
    result = await session.execute(
        text(
            "SELECT at, actor, action, from_state, to_state, note, data->>'centre' AS centre FROM cases.timeline"
            " WHERE case_id = :c ORDER BY id"
        ),
        {"c": case_id},
    )
    return list(result)


async def lock_case(session: AsyncSession, case_id: uuid.UUID) -> Any:
    return (await session.execute(text("SELECT * FROM cases.cases WHERE id = :id FOR UPDATE"), {"id": case_id})).first()


async def update_case(session: AsyncSession, case_id: uuid.UUID, now: datetime, **fields: Any) -> Any:
    params: dict[str, Any] = {"id": case_id, "now": now}
    sets = ["updated_at = :now"]
    for k, v in fields.items():
        if k in ("grade", "resolution", "deferral"):
            sets.append(f"{k} = CAST(:{k} AS jsonb)")
            params[k] = orjson.dumps(v).decode() if v is not None else None
        else:
            sets.append(f"{k} = :{k}")
            params[k] = v
    return (
        await session.execute(text(f"UPDATE cases.cases SET {', '.join(sets)} WHERE id = :id RETURNING *"), params)
    ).first()


async def reports_with_workers(session: AsyncSession, case_id: uuid.UUID) -> list[Any]:
    result = await session.execute(
        text("SELECT report_id, report_no, worker_id FROM cases.case_reports WHERE case_id = :c ORDER BY received_at"),
        {"c": case_id},
    )
    return list(result)


async def move_reports(session: AsyncSession, from_case: uuid.UUID, to_case: uuid.UUID) -> list[Any]:
    """Move a case's reports to another case; returns the moved (report_id, report_no, worker_id)."""
    result = await session.execute(
        text(
            "UPDATE cases.case_reports SET case_id = :to WHERE case_id = :from RETURNING report_id, report_no, "
            "worker_id"
        ),
        {"to": to_case, "from": from_case},
    )
    return list(result)


async def add_grade(
    session: AsyncSession, case_id: uuid.UUID, now: datetime, grade: dict[str, Any], actor: str, note: str | None
) -> None:
    await session.execute(
        text(
            """INSERT INTO cases.grades (case_id, at, level, score, reasons, tier, by, actor, note)
               VALUES (:c, :at, :level, :score, CAST(:reasons AS jsonb), :tier, :by, :actor, :note)"""
        ),
        {
            "c": case_id,
            "at": now,
            "level": grade["level"],
            "score": grade["score"],
            "reasons": orjson.dumps(grade["reasons"]).decode(),
            "tier": grade["tier"],
            "by": grade["by"],
            "actor": actor,
            "note": note,
        },
    )


async def grades_of(session: AsyncSession, case_id: uuid.UUID) -> list[Any]:
    result = await session.execute(
        text(
            "SELECT at, level, score, reasons, tier, by, actor, note FROM cases.grades WHERE case_id = :c ORDER BY id"
        ),
        {"c": case_id},
    )
    return list(result)


async def escalated_by_clock_since(session: AsyncSession, case_id: uuid.UUID, since: datetime) -> bool:
    """Has the ladder already raised (or reported) this case since `since` (a clock's breach)?"""
    row = (
        await session.execute(
            text(
                "SELECT 1 FROM cases.timeline WHERE case_id = :c AND action = 'escalate' AND actor = 'system:clock' "
                "AND at >= :since LIMIT 1"
            ),
            {"c": case_id, "since": since},
        )
    ).first()
    return row is not None


async def any_case_visible(session: AsyncSession, report_ids: list[uuid.UUID], scope: dict[str, Any]) -> bool:
    """Is any case made of these reports in the caller's scope? (the internal case-access question)"""
    sql = f"""SELECT EXISTS (SELECT 1 FROM cases.case_reports r JOIN cases.cases c ON c.id = r.case_id
                             WHERE r.report_id = ANY(:ids) AND {case_scope_sql(scope)})"""
    return bool((await session.execute(text(sql), {"ids": report_ids, **case_scope_params(scope)})).scalar())


async def any_of_cases_visible(session: AsyncSession, case_ids: list[uuid.UUID], scope: dict[str, Any]) -> bool:
    sql = f"SELECT EXISTS (SELECT 1 FROM cases.cases c WHERE c.id = ANY(:ids) AND {case_scope_sql(scope)})"
    return bool((await session.execute(text(sql), {"ids": case_ids, **case_scope_params(scope)})).scalar())


async def reporters_of(session: AsyncSession, case_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
    """case → the usernames of the grid workers whose reports are in it (deduplicated, sorted)."""
    if not case_ids:
        return {}
    result = await session.execute(
        text(
            """SELECT cr.case_id,
                      array_agg(DISTINCT COALESCE(u.username, cr.worker_id) ORDER BY COALESCE(u.username, cr.worker_id))
                        AS names
               FROM cases.case_reports cr LEFT JOIN cases.users u
                 ON u.id = CASE WHEN cr.worker_id ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
                                THEN CAST(cr.worker_id AS uuid) END  -- by the users' key, not a scan of every user
               WHERE cr.case_id = ANY(:ids) GROUP BY cr.case_id"""
        ),
        {"ids": case_ids},
    )
    return {r.case_id: list(r.names) for r in result}


_SWEEP_COLS = (
    "id, number, state, kind, category, title, area_code, area_path, tier, level, handling, responsible_unit, "
    "responsible_person, reporter_id, channel"
)


async def lock_unheld(session: AsyncSession, case_ids: list[uuid.UUID]) -> set[uuid.UUID]:
    """Lock those of the cases no other transaction holds right now; returns their ids."""
    result = await session.execute(
        text("SELECT id FROM cases.cases WHERE id = ANY(:ids) FOR UPDATE SKIP LOCKED"), {"ids": case_ids}
    )
    return {r.id for r in result}


async def by_ids(session: AsyncSession, case_ids: list[uuid.UUID]) -> dict[uuid.UUID, Any]:
    """The cases' rows (the columns the events and the ladder need), by id."""
    result = await session.execute(
        text(f"SELECT {_SWEEP_COLS} FROM cases.cases WHERE id = ANY(:ids)"), {"ids": case_ids}
    )
    return {r.id: r for r in result}


async def cases_for_reports(session: AsyncSession, report_ids: list[uuid.UUID]) -> set[uuid.UUID]:
    """Those of the reports that are already in a case."""
    if not report_ids:
        return set()
    result = await session.execute(
        text("SELECT report_id FROM cases.case_reports WHERE report_id = ANY(:r)"), {"r": report_ids}
    )
    return {r.report_id for r in result}


async def take_numbers(session: AsyncSession, n: int) -> list[int]:
    """n values of the case number sequence, ascending."""
    if n <= 0:
        return []
    result = await session.execute(
        text("SELECT nextval('cases.case_number_seq') AS v FROM generate_series(1, :n)"), {"n": n}
    )
    return sorted(r.v for r in result)


# Many new cases in one statement, already graded, each with its value of the case number sequence.
_INSERT_MANY = text(
    """WITH r AS (
         SELECT * FROM unnest(CAST(:id AS uuid[]), CAST(:kind AS text[]), CAST(:category AS text[]),
                CAST(:title AS text[]), CAST(:description AS text[]), CAST(:area_code AS text[]),
                CAST(:area_path AS text[]), CAST(:reporter_id AS text[]), CAST(:parties AS text[]),
                CAST(:people_involved AS int[]), CAST(:amount_cny AS text[]), CAST(:flags AS text[]),
                CAST(:location AS text[]), CAST(:attachments AS text[]), CAST(:occurred_at AS timestamptz[]),
                CAST(:grade AS text[]), CAST(:level AS text[]), CAST(:tier AS text[]), CAST(:inform AS boolean[]),
                CAST(:seq AS bigint[]), CAST(:handling AS text[]))
           WITH ORDINALITY AS t(id, kind, category, title, description, area_code, area_path, reporter_id, parties,
                people_involved, amount_cny, flags, location, attachments, occurred_at, grade, level, tier,
                inform_county, seq, handling, ord))
       INSERT INTO cases.cases (id, number, state, kind, category, title, description, area_code, area_path,
         reporter_id, parties, people_involved, amount_cny, flags, location, attachments, occurred_at, channel,
         grade, level, tier, handling, initial_tier, inform_county, created_at, updated_at)
       SELECT r.id, 'C' || :day || '-' || lpad(r.seq::text, 6, '0'), :state, r.kind, r.category, r.title,
         r.description, r.area_code, ARRAY(SELECT jsonb_array_elements_text(CAST(r.area_path AS jsonb))),
         r.reporter_id, CAST(r.parties AS jsonb), r.people_involved, CAST(r.amount_cny AS numeric),
         CAST(r.flags AS jsonb), CAST(r.location AS jsonb), CAST(r.attachments AS jsonb), r.occurred_at, :channel,
         CAST(r.grade AS jsonb), r.level, r.tier, ARRAY(SELECT jsonb_array_elements_text(CAST(r.handling AS jsonb))),
         r.tier, r.inform_county, :now, :now
       FROM r ORDER BY r.ord
       RETURNING *"""
)


def _json(value: Any) -> str | None:
    return orjson.dumps(value).decode() if value is not None else None


async def insert_graded_cases(
    session: AsyncSession, rows: list[dict[str, Any]], state: str, channel: str, day: str, now: datetime
) -> dict[uuid.UUID, Any]:
    """Insert new cases with their grade (fields as `insert_case` takes them, plus grade and `seq`, a value
    of the case number sequence from `take_numbers`); returns the rows by id."""
    if not rows:
        return {}
    result = await session.execute(
        _INSERT_MANY,
        {
            "id": [r["id"] for r in rows],
            "kind": [r["kind"] for r in rows],
            "category": [r["category"] for r in rows],
            "title": [r["title"] for r in rows],
            "description": [r["description"] for r in rows],
            "area_code": [r["area_code"] for r in rows],
            "area_path": [_json(list(r["area_path"])) for r in rows],
            "reporter_id": [r["reporter_id"] for r in rows],
            "parties": [_json(r["parties"]) for r in rows],
            "people_involved": [r["people_involved"] for r in rows],
            "amount_cny": [r["amount_cny"] for r in rows],
            "flags": [_json(r["flags"]) for r in rows],
            "location": [_json(r["location"]) for r in rows],
            "attachments": [_json(r["attachments"]) for r in rows],
            "occurred_at": [r["occurred_at"] for r in rows],
            "grade": [_json(r["grade"]) for r in rows],
            "level": [r["grade"]["level"] for r in rows],
            "tier": [r["grade"]["tier"] for r in rows],
            "inform": [bool(r["grade"]["inform_county"]) for r in rows],
            "seq": [r["seq"] for r in rows],
            "handling": [_json(list(r["handling"])) for r in rows],
            "state": state,
            "channel": channel,
            "day": day,
            "now": now,
        },
    )
    return {r.id: r for r in result}


async def link_reports(session: AsyncSession, links: list[tuple[uuid.UUID, str, uuid.UUID, str, datetime]]) -> None:
    """(report id, report no, case id, worker id, received at) for many reports, one statement."""
    if not links:
        return
    await session.execute(
        text(
            """INSERT INTO cases.case_reports (report_id, report_no, case_id, worker_id, received_at)
               SELECT * FROM unnest(CAST(:r AS uuid[]), CAST(:n AS text[]), CAST(:c AS uuid[]), CAST(:w AS text[]),
                                    CAST(:at AS timestamptz[]))"""
        ),
        {
            "r": [x[0] for x in links],
            "n": [x[1] for x in links],
            "c": [x[2] for x in links],
            "w": [x[3] for x in links],
            "at": [x[4] for x in links],
        },
    )


async def add_grades(
    session: AsyncSession, grades: list[tuple[uuid.UUID, dict[str, Any]]], now: datetime, actor: str
) -> None:
    """`add_grade` for many cases (no note), one statement."""
    if not grades:
        return
    await session.execute(
        text(
            """INSERT INTO cases.grades (case_id, at, level, score, reasons, tier, by, actor, note)
               SELECT c, :at, l, s, CAST(r AS jsonb), t, b, :actor, NULL
               FROM unnest(CAST(:c AS uuid[]), CAST(:l AS text[]), CAST(:s AS int[]), CAST(:r AS text[]),
                           CAST(:t AS text[]), CAST(:b AS text[])) AS x(c, l, s, r, t, b)"""
        ),
        {
            "c": [c for c, _ in grades],
            "l": [g["level"] for _, g in grades],
            "s": [g["score"] for _, g in grades],
            "r": [orjson.dumps(g["reasons"]).decode() for _, g in grades],
            "t": [g["tier"] for _, g in grades],
            "b": [g["by"] for _, g in grades],
            "at": now,
            "actor": actor,
        },
    )


async def case_of_work_order(session: AsyncSession, external_ref: str) -> Any:
    """The live case (not merged or rejected) a 12345 work order was registered as, after taking the work
    order's transaction lock, so two registrations of one work order at once are one after the other."""
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended('12345:' || :ref, 0))"), {"ref": external_ref}
    )
    return (
        await session.execute(
            text(
                """SELECT id, number, state, area_path FROM cases.cases
                   WHERE external_ref = :ref AND channel = 'hotline_12345' AND state NOT IN ('merged', 'rejected')
                   ORDER BY created_at LIMIT 1"""
            ),
            {"ref": external_ref},
        )
    ).first()


async def lock_open_cases_with_unstaffed_handling(session: AsyncSession) -> list[Any]:
    """Open cases one of whose handling centres has no active dispatcher any more, locked (the org import's
    transaction holds them while they are handed on)."""
    result = await session.execute(
        text(
            """SELECT c.id, c.number, c.state, c.area_path, c.tier, c.grade, c.handling FROM cases.cases c
               WHERE c.state NOT IN ('closed', 'merged', 'rejected') AND c.handling IS NOT NULL
                 AND EXISTS (SELECT 1 FROM unnest(c.handling) AS h(code)
                             WHERE NOT EXISTS (SELECT 1 FROM cases.users u WHERE u.role = 'dispatcher' AND u.active
                                                 AND u.areas @> ARRAY[h.code]))
               ORDER BY c.id FOR UPDATE"""
        )
    )
    return list(result)


async def set_handling(session: AsyncSession, changes: list[tuple[uuid.UUID, list[str]]], now: datetime) -> None:
    if not changes:
        return
    await session.execute(
        text(
            """UPDATE cases.cases c SET handling = ARRAY(SELECT jsonb_array_elements_text(CAST(u.h AS jsonb))),
                 updated_at = :now
               FROM unnest(CAST(:id AS uuid[]), CAST(:h AS text[])) AS u(id, h) WHERE c.id = u.id"""
        ),
        {"id": [c[0] for c in changes], "h": [orjson.dumps(c[1]).decode() for c in changes], "now": now},
    )
