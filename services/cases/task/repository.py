"""SQL of the tasks cases hands to grid workers (a revisit 回访 …)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


async def insert_task(session: AsyncSession, row: dict[str, Any]) -> None:
    await session.execute(
        text(
            """INSERT INTO cases.tasks (id, case_id, worker_id, kind, state, created_at)
               VALUES (:id, :case_id, :worker_id, :kind, 'open', :now)"""
        ),
        row,
    )


async def finish_task(session: AsyncSession, task_id: uuid.UUID, case_id: uuid.UUID, now: datetime) -> bool:
    result = await session.execute(
        text(
            "UPDATE cases.tasks SET state = 'done', done_at = :now WHERE id = :t AND case_id = :c AND state = 'open' "
            "RETURNING id"
        ),
        {"t": task_id, "c": case_id, "now": now},
    )
    return result.first() is not None


async def cancel_tasks(session: AsyncSession, case_id: uuid.UUID, now: datetime) -> list[Any]:
    """Withdraw the case's open revisit tasks (a household visit belongs to the household, not to the case's
    course); returns them (id, worker_id, kind) so the phones can be told."""
    result = await session.execute(
        text(
            "UPDATE cases.tasks SET state = 'cancelled', done_at = :now"
            " WHERE case_id = :c AND state = 'open' AND kind = 'revisit' RETURNING id, worker_id, kind"
        ),
        {"c": case_id, "now": now},
    )
    return list(result)


async def task_open_for(session: AsyncSession, task_id: uuid.UUID, case_id: uuid.UUID, worker_id: str) -> bool:
    row = (
        await session.execute(
            text("SELECT 1 FROM cases.tasks WHERE id = :t AND case_id = :c AND worker_id = :w AND state = 'open'"),
            {"t": task_id, "c": case_id, "w": worker_id},
        )
    ).first()
    return row is not None


async def issued_state(session: AsyncSession, task_id: uuid.UUID, case_id: uuid.UUID, worker_id: str) -> str | None:
    """The state of the task cases issued with this id, about this case, to this worker; None if it
    issued no such task."""
    return (
        await session.execute(
            text("SELECT state FROM cases.tasks WHERE id = :t AND case_id = :c AND worker_id = :w"),
            {"t": task_id, "c": case_id, "w": worker_id},
        )
    ).scalar()


async def kind_of(session: AsyncSession, task_id: uuid.UUID) -> str | None:
    return (await session.execute(text("SELECT kind FROM cases.tasks WHERE id = :t"), {"t": task_id})).scalar()
