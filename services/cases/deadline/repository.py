"""SQL of deadlines."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

COLS = """id, case_id, whistle_id, department_code, kind, state, calendar, limit_seconds, started_at, due_at,
          provisional, next_step, next_fire_at, paused_at, extended_at, extension, met_at, met_by, breached_at,
          cancelled_at, cancel_reason, repeat_of, created_at"""


def owed_sql(alias: str) -> str:
    """SQL of service.running(): the clock's work is still owed (pending, or breached and neither met nor
    called off)."""
    return f"({alias}.state IN ('pending', 'breached') AND {alias}.met_at IS NULL AND {alias}.cancel_reason IS NULL)"


def overdue_sql(alias: str, now_param: str) -> str:
    """Owed and past its due time (breached, or pending with the sweep not yet round)."""
    return f"({owed_sql(alias)} AND ({alias}.state = 'breached' OR {alias}.due_at < :{now_param}))"


async def insert(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    await session.execute(
        text(
            """INSERT INTO cases.deadlines (id, case_id, whistle_id, department_code, kind, state, calendar, limit_seconds,
                 started_at, due_at, provisional, next_step, next_fire_at, paused_at, repeat_of, created_at)
               VALUES (:id, :case_id, :whistle_id, :department_code, :kind, 'pending', :calendar, :limit_seconds,
                 :started_at, :due_at, :provisional, 0, :next_fire_at, :paused_at, :repeat_of, :created_at)"""
        ),
        rows,
    )


async def of_case(session: AsyncSession, case_id: uuid.UUID, lock: bool = False) -> list[Any]:
    sql = f"SELECT {COLS} FROM cases.deadlines WHERE case_id = :c ORDER BY created_at, kind"
    if lock:
        sql += " FOR UPDATE"
    return list(await session.execute(text(sql), {"c": case_id}))


async def update(session: AsyncSession, deadline_id: uuid.UUID, **fields: Any) -> None:
    sets = ", ".join(f"{k} = :{k}" for k in fields)
    params = {k: v for k, v in fields.items()}
    if "extension" in params and params["extension"] is not None:
        import orjson

        sets = sets.replace("extension = :extension", "extension = CAST(:extension AS jsonb)")
        params["extension"] = orjson.dumps(params["extension"]).decode()
    await session.execute(text(f"UPDATE cases.deadlines SET {sets} WHERE id = :id"), {**params, "id": deadline_id})


async def list_for(
    session: AsyncSession,
    scope_sql: str,
    params: dict[str, Any],
    filters: dict[str, Any],
    limit: int,
    after: tuple[datetime, uuid.UUID] | None,
) -> list[Any]:
    where = [scope_sql]
    for col in ("state", "kind", "department_code"):
        if filters.get(col):
            where.append(f"d.{col} = :{col}")
            params[col] = filters[col]
    if filters.get("due_before"):
        where.append("d.due_at < :due_before")
        params["due_before"] = filters["due_before"]
    if after:
        where.append("(d.due_at, d.id) > (:after_at, :after_id)")
        params["after_at"], params["after_id"] = after
    sql = f"""SELECT d.id, d.case_id, c.number AS case_number, d.kind, d.state, d.due_at, d.met_at, d.breached_at,
                     d.department_code, d.calendar, d.provisional, d.paused_at
              FROM cases.deadlines d JOIN cases.cases c ON c.id = d.case_id
              WHERE {" AND ".join(where)} ORDER BY d.due_at, d.id LIMIT :n"""
    return list(await session.execute(text(sql), {**params, "n": limit}))
