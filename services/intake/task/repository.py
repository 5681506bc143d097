"""SQL of the workers' tasks."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


async def upsert(
    session: AsyncSession,
    task_id: uuid.UUID,
    worker_id: str,
    kind: str,
    case_id: uuid.UUID | None,
    data: dict[str, Any],
    now: datetime,
) -> bool:
    row = (
        await session.execute(
            text(
                """INSERT INTO intake.tasks (id, worker_id, kind, case_id, data, state, created_at)
                   VALUES (:id, :w, :k, :c, CAST(:d AS jsonb), 'open', :now) ON CONFLICT (id) DO NOTHING RETURNING id"""
            ),
            {"id": task_id, "w": worker_id, "k": kind, "c": case_id, "d": orjson.dumps(data).decode(), "now": now},
        )
    ).first()
    return row is not None


async def finish(session: AsyncSession, task_ids: list[uuid.UUID], worker_id: str, now: datetime) -> None:
    if task_ids:
        await session.execute(
            text(
                """UPDATE intake.tasks SET state = 'done', done_at = :now
                   WHERE id = ANY(:ids) AND worker_id = :w AND state = 'open'"""
            ),
            {"ids": task_ids, "w": worker_id, "now": now},
        )


async def open_cases(
    session: AsyncSession, task_ids: list[uuid.UUID], worker_id: str
) -> dict[uuid.UUID, uuid.UUID | None]:
    """Of these tasks, the worker's open ones, with the case each is about."""
    if not task_ids:
        return {}
    result = await session.execute(
        text("SELECT id, case_id FROM intake.tasks WHERE id = ANY(:ids) AND worker_id = :w AND state = 'open'"),
        {"ids": task_ids, "w": worker_id},
    )
    return {r.id: r.case_id for r in result}


async def open_for(session: AsyncSession, worker_id: str) -> list[Any]:
    result = await session.execute(
        text(
            """SELECT id, kind, case_id, data, created_at FROM intake.tasks
               WHERE worker_id = :w AND state = 'open' ORDER BY created_at"""
        ),
        {"w": worker_id},
    )
    return list(result)


async def cancel(session: AsyncSession, task_id: uuid.UUID, worker_id: str, now: datetime) -> bool:
    """Close an open task withdrawn by cases; False when it was already closed (or never arrived)."""
    row = (
        await session.execute(
            text(
                """UPDATE intake.tasks SET state = 'cancelled', done_at = :now
                   WHERE id = :id AND worker_id = :w AND state = 'open' RETURNING id"""
            ),
            {"id": task_id, "w": worker_id, "now": now},
        )
    ).first()
    return row is not None
