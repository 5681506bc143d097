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
    " created_at, updated_at"
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
                     channel, created_at, updated_at)
                   VALUES (:id, 'C' || :day || '-' || lpad(nextval('cases.case_number_seq')::text, 6, '0'),
                     :state, :kind, :category, :title, :description, :area_code, :area_path, :reporter_id,
                     CAST(:parties AS jsonb),
                     :people_involved, CAST(:amount_cny AS numeric), CAST(:flags AS jsonb), CAST(:location AS jsonb),
                     CAST(:attachments AS jsonb), :occurred_at, :channel, :now, :now)
                   RETURNING number"""
            ),
            {
                "channel": "grid",
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
               VALUES (:c, :at, :actor, :action, :f, :t, :note, CAST(:data AS jsonb))"""
        ),
        [
            {
                "c": e.case_id,
                "at": e.at,
                "actor": e.actor,
                "action": e.action,
                "f": e.from_state,
                "t": e.to_state,
                "note": e.note,
                "data": orjson.dumps(e.data).decode() if e.data else None,
            }
            for e in entries
        ],
    )


async def list_cases(
    session: AsyncSession,
    scope: dict[str, Any],
    filters: dict[str, Any],
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
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
        where.append("(c.title ILIKE :q OR c.description ILIKE :q OR c.number = :qexact)")
        params["q"] = "%" + filters["q"].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        params["qexact"] = filters["q"]
    if after:
        where.append("(c.created_at, c.id) < (:after_at, :after_id)")
        params["after_at"], params["after_id"] = after
    sql = (
        f"SELECT {_SUMMARY_COLS} FROM cases.cases c WHERE {' AND '.join(where)}"
        " ORDER BY c.created_at DESC, c.id DESC LIMIT :n"
    )
    return list(await session.execute(text(sql), params))


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
        if k in ("grade", "resolution"):
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
    "responsible_person, reporter_id"
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
