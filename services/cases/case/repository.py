"""SQL of cases: creation from a report, scoped reads, the timeline."""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

_SUMMARY_COLS = "id, number, state, kind, category, title, area_code, tier, level, created_at, updated_at"


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
                     created_at, updated_at)
                   VALUES (:id, 'C' || :day || '-' || lpad(nextval('cases.case_number_seq')::text, 6, '0'), :state, :kind,
                     :category, :title, :description, :area_code, :area_path, :reporter_id, CAST(:parties AS jsonb),
                     :people_involved, CAST(:amount_cny AS numeric), CAST(:flags AS jsonb), CAST(:location AS jsonb),
                     CAST(:attachments AS jsonb), :occurred_at, :now, :now)
                   RETURNING number"""
            ),
            {
                **row,
                "day": day,
                "parties": orjson.dumps(row["parties"]).decode(),
                "flags": orjson.dumps(row["flags"]).decode(),
                "location": orjson.dumps(row["location"]).decode() if row["location"] is not None else None,
                "attachments": orjson.dumps(row["attachments"]).decode(),
            },
        )
    ).scalar_one()


async def link_report(session: AsyncSession, report_id: uuid.UUID, report_no: str, case_id: uuid.UUID, worker_id: str, received_at: datetime) -> None:
    await session.execute(
        text(
            """INSERT INTO cases.case_reports (report_id, report_no, case_id, worker_id, received_at)
               VALUES (:r, :n, :c, :w, :at)"""
        ),
        {"r": report_id, "n": report_no, "c": case_id, "w": worker_id, "at": received_at},
    )


async def add_timeline(session: AsyncSession, case_id: uuid.UUID, at: datetime, actor: str, action: str, from_state: str | None, to_state: str | None, note: str | None, data: dict[str, Any] | None = None) -> None:
    await session.execute(
        text(
            """INSERT INTO cases.timeline (case_id, at, actor, action, from_state, to_state, note, data)
               VALUES (:c, :at, :actor, :action, :f, :t, :note, CAST(:data AS jsonb))"""
        ),
        {"c": case_id, "at": at, "actor": actor, "action": action, "f": from_state, "t": to_state, "note": note, "data": orjson.dumps(data).decode() if data else None},
    )


def _scope_sql(scope: dict[str, Any]) -> str:
    if scope["all"]:
        return "TRUE"
    if scope["areas"]:
        return "c.area_path && CAST(:scope_areas AS text[])"
    return "FALSE"


async def list_cases(session: AsyncSession, scope: dict[str, Any], filters: dict[str, Any], after: tuple[datetime, uuid.UUID] | None, limit: int) -> list[Any]:
    where = [_scope_sql(scope)]
    params: dict[str, Any] = {"scope_areas": list(scope["areas"]), "n": limit}
    for col in ("state", "kind", "category", "level", "tier"):
        if filters.get(col):
            where.append(f"c.{col} = :{col}")
            params[col] = filters[col]
    if filters.get("area"):
        where.append("c.area_path @> ARRAY[CAST(:area AS text)]")
        params["area"] = filters["area"]
    if filters.get("created_from"):
        where.append("c.created_at >= :created_from")
        params["created_from"] = filters["created_from"]
    if filters.get("created_to"):
        where.append("c.created_at < :created_to")
        params["created_to"] = filters["created_to"]
    if filters.get("report"):
        where.append(
            "c.id IN (SELECT case_id FROM cases.case_reports WHERE report_no = :report OR CAST(report_id AS text) = :report)"
        )
        params["report"] = filters["report"]
    if filters.get("q"):
        where.append("(c.title ILIKE :q OR c.description ILIKE :q OR c.number = :qexact)")
        params["q"] = "%" + filters["q"].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        params["qexact"] = filters["q"]
    if after:
        where.append("(c.created_at, c.id) < (:after_at, :after_id)")
        params["after_at"], params["after_id"] = after
    sql = f"SELECT {_SUMMARY_COLS} FROM cases.cases c WHERE {' AND '.join(where)} ORDER BY c.created_at DESC, c.id DESC LIMIT :n"
    return list(await session.execute(text(sql), params))


async def get_case(session: AsyncSession, case_id: uuid.UUID, scope: dict[str, Any]) -> Any:
    sql = f"SELECT c.* FROM cases.cases c WHERE c.id = :id AND {_scope_sql(scope)}"
    return (await session.execute(text(sql), {"id": case_id, "scope_areas": list(scope["areas"])})).first()


async def reports_of(session: AsyncSession, case_id: uuid.UUID) -> list[Any]:
    result = await session.execute(
        text("SELECT report_id, report_no, received_at FROM cases.case_reports WHERE case_id = :c ORDER BY received_at"),
        {"c": case_id},
    )
    return list(result)


async def timeline_of(session: AsyncSession, case_id: uuid.UUID) -> list[Any]:
    result = await session.execute(
        text("SELECT at, actor, action, from_state, to_state, note FROM cases.timeline WHERE case_id = :c ORDER BY id"),
        {"c": case_id},
    )
    return list(result)
