"""SQL of notices and their per-area, per-year numbering."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.cases.db import case_scope_params

COLS = (
    "id, number, kind, case_id, deadline_id, area_code, unit, subject, body, state, issued_at, respond_by, answer, "
    "answered_at, answered_by, closed_at, closed_by, issued_by, reason"
)


async def next_number(session: AsyncSession, area_code: str, year: int, kind: str) -> int:
    return (
        await session.execute(
            text(
                """INSERT INTO cases.notice_counters (area_code, year, kind, last) VALUES (:a, :y, :k, 1)
                   ON CONFLICT (area_code, year, kind) DO UPDATE SET last = cases.notice_counters.last + 1
                   RETURNING last"""
            ),
            {"a": area_code, "y": year, "k": kind},
        )
    ).scalar_one()


async def take_numbers(
    session: AsyncSession, wanted: dict[tuple[str, int, str], int]
) -> dict[tuple[str, int, str], int]:
    """Bump each (area, year, kind) counter by how many numbers are wanted, in one statement; returns each
    counter's last number (the numbers taken are the `wanted` ones up to it). The counters are locked in key
    order, the same in every transaction: two batches of cases that warn in the same areas wait for one another
    instead of each holding a counter the other wants (a deadlock)."""
    keys = sorted(wanted)
    result = await session.execute(
        text(
            """INSERT INTO cases.notice_counters (area_code, year, kind, last)
               SELECT * FROM unnest(CAST(:a AS text[]), CAST(:y AS int[]), CAST(:k AS text[]), CAST(:n AS int[]))
                 AS u(a, y, k, n) ORDER BY a COLLATE "C", y, k COLLATE "C"
               ON CONFLICT (area_code, year, kind) DO UPDATE SET last = cases.notice_counters.last + EXCLUDED.last
               RETURNING area_code, year, kind, last"""
        ),
        {
            "a": [k[0] for k in keys],
            "y": [k[1] for k in keys],
            "k": [k[2] for k in keys],
            "n": [wanted[k] for k in keys],
        },
    )
    return {(r.area_code, r.year, r.kind): r.last for r in result}


async def insert_many(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Many notices in one statement over arrays (a batch of new cases warns of many people at once)."""
    if not rows:
        return
    rows = [{"issued_by": "system:clock", "reason": None, **r} for r in rows]

    def column(name: str) -> list[Any]:
        return [r[name] for r in rows]

    await session.execute(
        text(
            f"""INSERT INTO cases.notices ({COLS})
               SELECT id, number, kind, case_id, deadline_id, area_code, unit, subject, body, 'issued', issued_at,
                      respond_by, NULL, NULL, NULL, NULL, NULL, issued_by, reason
               FROM unnest(CAST(:id AS uuid[]), CAST(:number AS text[]), CAST(:kind AS text[]),
                           CAST(:case_id AS uuid[]), CAST(:deadline_id AS uuid[]), CAST(:area_code AS text[]),
                           CAST(:unit AS text[]), CAST(:subject AS text[]), CAST(:body AS text[]),
                           CAST(:issued_at AS timestamptz[]), CAST(:respond_by AS timestamptz[]),
                           CAST(:issued_by AS text[]), CAST(:reason AS text[]))
                 AS u(id, number, kind, case_id, deadline_id, area_code, unit, subject, body, issued_at, respond_by,
                      issued_by, reason)"""
        ),
        {
            name: column(name)
            for name in (
                "id",
                "number",
                "kind",
                "case_id",
                "deadline_id",
                "area_code",
                "unit",
                "subject",
                "body",
                "issued_at",
                "respond_by",
                "issued_by",
                "reason",
            )
        },
    )


async def insert(session: AsyncSession, row: dict[str, Any] | list[dict[str, Any]]) -> None:
    """One notice or many; `issued_by` defaults to the clock (the ladder), `reason` to none."""
    await insert_many(session, row if isinstance(row, list) else [row])


async def of_case(session: AsyncSession, case_id: uuid.UUID) -> list[Any]:
    return list(
        await session.execute(
            text(f"SELECT {COLS} FROM cases.notices WHERE case_id = :c ORDER BY issued_at"), {"c": case_id}
        )
    )


async def get(session: AsyncSession, notice_id: uuid.UUID, lock: bool = False) -> Any:
    sql = f"SELECT {COLS} FROM cases.notices WHERE id = :i" + (" FOR UPDATE" if lock else "")
    return (await session.execute(text(sql), {"i": notice_id})).first()


async def answer(session: AsyncSession, notice_id: uuid.UUID, answer_text: str, by: str, now: datetime) -> Any:
    return (
        await session.execute(
            text(f"""UPDATE cases.notices SET state = 'answered', answer = :a, answered_at = :now, answered_by = :by
                     WHERE id = :i RETURNING {COLS}"""),
            {"i": notice_id, "a": answer_text, "by": by, "now": now},
        )
    ).first()


def _scope_filter(scope: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Which notices a case scope sees: a department those addressed to it; a centre those of the cases in
    its areas and those it issued."""
    params = case_scope_params(scope)
    if scope.get("department"):
        return "n.unit = :scope_dept", params
    if scope["all"]:
        return "TRUE", params
    return "(c.area_path && CAST(:scope_areas AS text[]) OR n.area_code = ANY(:scope_areas))", params


async def list_visible(
    session: AsyncSession,
    scope: dict[str, Any],
    state: str | None,
    kind: str | None,
    limit: int,
    after: tuple[datetime, uuid.UUID] | None,
    notice_id: uuid.UUID | None = None,
) -> list[Any]:
    scope_sql, params = _scope_filter(scope)
    where = [scope_sql]
    if notice_id is not None:
        where.append("n.id = :nid")
        params["nid"] = notice_id
    if state:
        where.append("n.state = :state")
        params["state"] = state
    if kind:
        where.append("n.kind = :kind")
        params["kind"] = kind
    if after:
        where.append("(n.issued_at, n.id) < (:a, :i)")
        params["a"], params["i"] = after
    sql = f"""SELECT n.* FROM cases.notices n LEFT JOIN cases.cases c ON c.id = n.case_id
              WHERE {" AND ".join(where)} ORDER BY n.issued_at DESC, n.id DESC LIMIT :n"""
    return list(await session.execute(text(sql), {**params, "n": limit}))


async def visible(session: AsyncSession, scope: dict[str, Any], notice_id: uuid.UUID) -> bool:
    return bool(await list_visible(session, scope, None, None, 1, None, notice_id=notice_id))


async def close(session: AsyncSession, notice_id: uuid.UUID, by: str, now: datetime) -> Any:
    return (
        await session.execute(
            text(
                f"""UPDATE cases.notices SET state = 'closed', closed_at = :now, closed_by = :by
                    WHERE id = :i RETURNING {COLS}"""
            ),
            {"i": notice_id, "by": by, "now": now},
        )
    ).first()


async def is_department(session: AsyncSession, code: str) -> bool:
    return (
        await session.execute(text("SELECT 1 FROM cases.departments WHERE code = :c"), {"c": code})
    ).first() is not None


async def department_active(session: AsyncSession, code: str) -> bool | None:
    """None: `code` is no department (a centre); else whether the department is still active (not 撤销)."""
    row = (await session.execute(text("SELECT active FROM cases.departments WHERE code = :c"), {"c": code})).first()
    return None if row is None else bool(row.active)


async def area_in_scope(session: AsyncSession, area_code: str, scope: list[str]) -> bool:
    row = (
        await session.execute(
            text("SELECT 1 FROM cases.areas WHERE code = :c AND path && CAST(:s AS text[])"),
            {"c": area_code, "s": scope},
        )
    ).first()
    return row is not None


async def by_ids(session: AsyncSession, ids: list[uuid.UUID]) -> dict[uuid.UUID, Any]:
    if not ids:
        return {}
    result = await session.execute(text(f"SELECT {COLS} FROM cases.notices WHERE id = ANY(:ids)"), {"ids": ids})
    return {r.id: r for r in result}
