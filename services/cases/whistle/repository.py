"""SQL of whistle items."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

COLS = (
    "id, case_id, department_code, role, state, reason, return_reason, created_at, acknowledged_at, done_at,"
    " returned_at, updated_at"
)


async def insert(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    await session.execute(
        text(
            """INSERT INTO cases.whistles (id, case_id, department_code, role, state, reason, created_at, updated_at)
               VALUES (:id, :case_id, :department_code, :role, 'pending', :reason, :now, :now)"""
        ),
        rows,
    )


async def of_case(session: AsyncSession, case_id: uuid.UUID) -> list[Any]:
    return list(
        await session.execute(
            text(f"SELECT {COLS} FROM cases.whistles WHERE case_id = :c ORDER BY created_at, role DESC"), {"c": case_id}
        )
    )


async def get_for_department(session: AsyncSession, whistle_id: uuid.UUID, department: str) -> Any:
    return (
        await session.execute(
            text(f"SELECT {COLS} FROM cases.whistles WHERE id = :i AND department_code = :d"),
            {"i": whistle_id, "d": department},
        )
    ).first()


async def set_state(session: AsyncSession, whistle_id: uuid.UUID, state: str, now: datetime, **extra: Any) -> Any:
    sets = ["state = :state", "updated_at = :now"] + [f"{k} = :{k}" for k in extra]
    return (
        await session.execute(
            text(f"UPDATE cases.whistles SET {', '.join(sets)} WHERE id = :id RETURNING {COLS}"),
            {"id": whistle_id, "state": state, "now": now, **extra},
        )
    ).first()


async def list_for_department(
    session: AsyncSession, department: str, state: str | None, after: tuple[datetime, uuid.UUID] | None, limit: int
) -> list[Any]:
    where = ["w.department_code = :d"]
    params: dict[str, Any] = {"d": department, "n": limit}
    if state:
        where.append("w.state = :state")
        params["state"] = state
    if after:
        where.append("(w.created_at, w.id) < (:a, :i)")
        params["a"], params["i"] = after
    sql = f"""SELECT w.id, w.case_id, c.number AS case_number, c.title, w.department_code, w.role, w.state, w.reason,
                     w.created_at, w.acknowledged_at, w.done_at, w.returned_at, w.return_reason
              FROM cases.whistles w JOIN cases.cases c ON c.id = w.case_id
              WHERE {" AND ".join(where)} ORDER BY w.created_at DESC, w.id DESC LIMIT :n"""
    return list(await session.execute(text(sql), params))


async def departments(session: AsyncSession, codes: list[str]) -> dict[str, Any]:
    """The departments that may be whistled among `codes`: a retired one (撤销, active false) is not among them."""
    result = await session.execute(
        text("""SELECT d.code, d.name, d.area_code, COALESCE(a.path, ARRAY[d.area_code]) AS area_path
                FROM cases.departments d LEFT JOIN cases.areas a ON a.code = d.area_code
                WHERE d.code = ANY(:c) AND d.active"""),
        {"c": codes},
    )
    return {r.code: r for r in result}


async def cancel_open(
    session: AsyncSession, case_id: uuid.UUID, reason: str, now: datetime, department: str | None = None
) -> list[Any]:
    """End a case's whistles still at work (the case no longer exists on its own, or — `department` given —
    that department was retired); the reason is kept."""
    only = " AND department_code = :d" if department is not None else ""
    result = await session.execute(
        text(f"""UPDATE cases.whistles SET state = 'cancelled', return_reason = :reason, updated_at = :now
                 WHERE case_id = :c AND state NOT IN ('done', 'returned', 'cancelled'){only} RETURNING {COLS}"""),
        {"c": case_id, "reason": reason, "now": now, "d": department},
    )
    return list(result)


async def open_of_departments(session: AsyncSession, codes: list[str]) -> list[Any]:
    """(case, department) pairs with a whistle still at work, in case order (the order the row locks are taken)."""
    result = await session.execute(
        text("""SELECT DISTINCT case_id, department_code FROM cases.whistles
                WHERE department_code = ANY(:d) AND state NOT IN ('done', 'returned', 'cancelled')
                ORDER BY case_id, department_code"""),
        {"d": codes},
    )
    return list(result)


async def deadlines_of(session: AsyncSession, whistles: list[Any]) -> dict[uuid.UUID, list[Any]]:
    """Each whistle's clocks: its own (report in) and, for a lead, the case's resolve clocks that ran while it
    led — from its whistle until it was returned, done or cancelled. A clock made at the very moment the
    lead was whistled is its own; one made at the moment it stopped leading is the next lead's (a returned
    lead does not show its successor's clock), and a clock already running when the lead came (started by
    an earlier assist whistle) is shown to it."""
    if not whistles:
        return {}
    result = await session.execute(
        text(
            """WITH w AS (
                 SELECT id, case_id, role, created_at,
                        COALESCE(returned_at, done_at, CASE WHEN state = 'cancelled' THEN updated_at END) AS ended_at
                 FROM cases.whistles WHERE id = ANY(:ids))
               SELECT w.id AS wid, d.id, d.kind, d.state, d.due_at, d.met_at, d.breached_at, d.paused_at,
                 d.department_code
               FROM w JOIN cases.deadlines d ON d.case_id = w.case_id
               WHERE d.whistle_id = w.id
                  OR (w.role = 'lead' AND d.kind = 'resolve' AND d.whistle_id IS NULL
                      AND (d.created_at = w.created_at
                           OR ((w.ended_at IS NULL OR d.created_at < w.ended_at)
                               AND COALESCE(d.met_at, d.cancelled_at, 'infinity') > w.created_at)))
               ORDER BY d.created_at, d.kind"""
        ),
        {"ids": [w.id for w in whistles]},
    )
    out: dict[uuid.UUID, list[Any]] = {w.id: [] for w in whistles}
    for r in result:
        out[r.wid].append(r)
    return out
