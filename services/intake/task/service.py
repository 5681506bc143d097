"""Work handed to grid workers (a revisit 回访, a verification 核查 …): kept so a snapshot lists the
open ones; a follow-up report closes its task."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.task import repository


async def record_assigned(
    session: AsyncSession,
    task_id: uuid.UUID,
    worker_id: str,
    kind: str,
    case_id: uuid.UUID | None,
    data: dict[str, Any],
    now: datetime,
) -> bool:
    """Keep a new open task; False when it was already known (a redelivery)."""
    return await repository.upsert(session, task_id, worker_id, kind, case_id, data, now)


async def finish(session: AsyncSession, task_ids: list[uuid.UUID], worker_id: str, now: datetime) -> None:
    await repository.finish(session, task_ids, worker_id, now)


async def open_cases(
    session: AsyncSession, task_ids: list[uuid.UUID], worker_id: str
) -> dict[uuid.UUID, uuid.UUID | None]:
    """Of these tasks, the worker's open ones, with the case each is about."""
    return await repository.open_cases(session, task_ids, worker_id)


async def open_for(session: AsyncSession, worker_id: str) -> list[Any]:
    return await repository.open_for(session, worker_id)


async def cancel(session: AsyncSession, task_id: uuid.UUID, worker_id: str, now: datetime) -> bool:
    """Close an open task withdrawn by cases; False when it was already closed (or never arrived)."""
    return await repository.cancel(session, task_id, worker_id, now)
