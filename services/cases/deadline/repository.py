"""SQL of deadlines: the case's clocks, the sweep's claim and progress, the dashboards' list and the
morning digest's counts."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.cases.db import case_scope_params, case_scope_sql, overdue_sql, owed_sql

COLS = """id, case_id, whistle_id, department_code, kind, state, calendar, limit_seconds, started_at, due_at,
          provisional, next_step, next_fire_at, paused_at, extended_at, extension, met_at, met_by, breached_at,
          cancelled_at, cancel_reason, repeat_of, notice_id, created_at"""


async def insert(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    cols = (
        "id",
        "case_id",
        "whistle_id",
        "department_code",
        "kind",
        "calendar",
        "limit_seconds",
        "started_at",
        "due_at",
        "provisional",
        "next_fire_at",
        "paused_at",
        "repeat_of",
        "notice_id",
        "created_at",
    )
    await session.execute(
        text(
            """INSERT INTO cases.deadlines (id, case_id, whistle_id, department_code, kind, state, calendar,
                 limit_seconds, started_at, due_at, provisional, next_step, next_fire_at, paused_at, repeat_of,
                 notice_id, created_at)
               SELECT id, case_id, whistle_id, department_code, kind, 'pending', calendar, limit_seconds, started_at,
                 due_at, provisional, 0, next_fire_at, paused_at, repeat_of, notice_id, created_at
               FROM unnest(CAST(:id AS uuid[]), CAST(:case_id AS uuid[]), CAST(:whistle_id AS uuid[]),
                           CAST(:department_code AS text[]), CAST(:kind AS text[]), CAST(:calendar AS text[]),
                           CAST(:limit_seconds AS float8[]), CAST(:started_at AS timestamptz[]),
                           CAST(:due_at AS timestamptz[]), CAST(:provisional AS boolean[]),
                           CAST(:next_fire_at AS timestamptz[]), CAST(:paused_at AS timestamptz[]),
                           CAST(:repeat_of AS uuid[]), CAST(:notice_id AS uuid[]), CAST(:created_at AS timestamptz[]))
                 WITH ORDINALITY AS r(id, case_id, whistle_id, department_code, kind, calendar, limit_seconds,
                                      started_at, due_at, provisional, next_fire_at, paused_at, repeat_of, notice_id,
                                      created_at, ord)
               ORDER BY ord"""
        ),
        {c: [r.get(c) for r in rows] for c in cols},
    )


async def of_case(session: AsyncSession, case_id: uuid.UUID, lock: bool = False) -> list[Any]:
    sql = f"SELECT {COLS} FROM cases.deadlines WHERE case_id = :c ORDER BY created_at, kind"
    if lock:
        sql += " FOR UPDATE"
    return list(await session.execute(text(sql), {"c": case_id}))


async def of_notice(session: AsyncSession, notice_id: uuid.UUID, lock: bool = False) -> list[Any]:
    sql = f"SELECT {COLS} FROM cases.deadlines WHERE notice_id = :n" + (" FOR UPDATE" if lock else "")
    return list(await session.execute(text(sql), {"n": notice_id}))


async def update(session: AsyncSession, deadline_id: uuid.UUID, **fields: Any) -> None:
    sets = ", ".join(f"{k} = :{k}" for k in fields)
    params = dict(fields)
    if "extension" in params and params["extension"] is not None:
        sets = sets.replace("extension = :extension", "extension = CAST(:extension AS jsonb)")
        params["extension"] = orjson.dumps(params["extension"]).decode()
    await session.execute(text(f"UPDATE cases.deadlines SET {sets} WHERE id = :id"), {**params, "id": deadline_id})


async def list_for(
    session: AsyncSession,
    scope: dict[str, Any],
    filters: dict[str, Any],
    limit: int,
    after: tuple[datetime, uuid.UUID] | None,
) -> list[Any]:
    """The clocks of the cases `scope` sees (the case domain's scope), soonest due first."""
    where = [case_scope_sql(scope)]
    params = case_scope_params(scope)
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


# Claim in two steps: the due clocks in index order (an ordered scan of the partial index stops after
# :n rows, whatever the backlog; a bitmap plan would read and sort every due row first), then their
# cases (asked of the case domain), skipping any case an action holds right now (its clocks fire at the
# next tick).
CLAIM_DUE = text(
    """SELECT id, case_id FROM cases.deadlines
       WHERE next_fire_at IS NOT NULL AND next_fire_at <= :now
       ORDER BY next_fire_at LIMIT :n
       FOR UPDATE SKIP LOCKED"""
)

_SET_PROGRESS = text(
    """UPDATE cases.deadlines SET next_step = :next_step, next_fire_at = :next_fire_at, state = :state,
       breached_at = :breached_at WHERE id = :id"""
)


async def claim_due(session: AsyncSession, now: datetime, n: int) -> list[Any]:
    """Up to `n` clocks with a step due at `now`, locked (rows another sweeper holds are skipped): (id,
    case_id). The transaction plans without bitmap scans, so the claim walks the partial index in order."""
    await session.execute(text("SET LOCAL enable_bitmapscan = off"))
    return list((await session.execute(CLAIM_DUE, {"now": now, "n": n})).all())


async def by_ids(session: AsyncSession, ids: list[uuid.UUID]) -> list[Any]:
    """Whole rows of the given clocks, in the order their next steps fall."""
    return list(
        await session.execute(
            text(f"SELECT {COLS} FROM cases.deadlines WHERE id = ANY(:ids) ORDER BY next_fire_at"), {"ids": ids}
        )
    )


async def set_progress(session: AsyncSession, updates: list[dict[str, Any]]) -> None:
    """Each clock's next step and fire time, state and breach time after a sweep (one executemany)."""
    if updates:
        await session.execute(_SET_PROGRESS, updates)


def _digest_sql() -> Any:
    overdue = overdue_sql("d", "now")
    return text(
        f"""SELECT a.code, a.name, a.level,
               count(*) FILTER (WHERE {overdue}) AS overdue,
               count(DISTINCT c.id) FILTER (WHERE {overdue}) AS overdue_case_count,
               count(*) FILTER (WHERE d.state = 'pending' AND d.due_at >= :now AND d.due_at < :eod) AS due_today,
               (array_agg(DISTINCT c.number) FILTER (WHERE {overdue}))[1:CAST(:cap AS int)] AS overdue_cases
        FROM cases.areas a
        JOIN cases.cases c ON c.area_path @> ARRAY[a.code]
        JOIN cases.deadlines d ON d.case_id = c.id
        WHERE a.level IN ('township', 'county') AND c.state NOT IN ('closed', 'merged', 'rejected') AND {owed_sql("d")}
        GROUP BY a.code, a.name, a.level ORDER BY a.code"""
    )


_DIGEST = _digest_sql()


async def digest_by_centre(session: AsyncSession, now: datetime, end_of_day: datetime, cap: int) -> list[Any]:
    """Per township and county centre: its overdue clocks, the open cases they belong to (at most `cap`
    numbers named), and its clocks due between `now` and `end_of_day`."""
    return list(await session.execute(_DIGEST, {"now": now, "eod": end_of_day, "cap": cap}))


async def operator_figures(session: AsyncSession, now: datetime) -> Any:
    """For /metrics, two index-bounded reads: clocks breached and still owed (their partial index), and
    the oldest step due and not yet fired (the sweep's own index, its first entry)."""
    return (
        await session.execute(
            text(
                """SELECT (SELECT count(*) FROM cases.deadlines
                           WHERE state = 'breached' AND met_at IS NULL AND cancel_reason IS NULL) AS breached,
                          (SELECT min(next_fire_at) FROM cases.deadlines
                           WHERE next_fire_at IS NOT NULL AND next_fire_at <= :now) AS oldest_due"""
            ),
            {"now": now},
        )
    ).one()


async def provisional_cases(session: AsyncSession, after: uuid.UUID | None, n: int) -> list[uuid.UUID]:
    """Up to `n` cases (in id order, after `after`) with a pending clock timed on an estimated calendar day
    (the partial index ix_deadlines_provisional_pending)."""
    result = await session.execute(
        text(
            """SELECT DISTINCT case_id FROM cases.deadlines
               WHERE state = 'pending' AND provisional AND (CAST(:after AS uuid) IS NULL OR case_id > :after)
               ORDER BY case_id LIMIT :n"""
        ),
        {"after": after, "n": n},
    )
    return [r.case_id for r in result]


async def provisional_of(session: AsyncSession, case_ids: list[uuid.UUID]) -> list[Any]:
    """The pending clocks of these (locked) cases timed on an estimate, row-locked."""
    return list(
        await session.execute(
            text(
                f"""SELECT {COLS} FROM cases.deadlines
                    WHERE case_id = ANY(:c) AND state = 'pending' AND provisional
                    ORDER BY case_id, created_at, kind FOR UPDATE"""
            ),
            {"c": case_ids},
        )
    )


async def set_timing(session: AsyncSession, updates: list[dict[str, Any]]) -> None:
    """Each re-timed clock's due time, provisional flag, next step and its time (one executemany)."""
    if updates:
        await session.execute(
            text(
                """UPDATE cases.deadlines SET due_at = :due_at, provisional = :provisional, next_step = :next_step,
                   next_fire_at = :next_fire_at WHERE id = :id AND state = 'pending'"""
            ),
            updates,
        )
