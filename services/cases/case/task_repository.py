"""SQL of the tasks cases hands to grid workers (a revisit 回访 …), as the phone's answers need them."""

from __future__ import annotations

import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


async def issued_state(session: AsyncSession, task_id: uuid.UUID, case_id: uuid.UUID, worker_id: str) -> str | None:
    """The state of the task cases issued with this id, about this case, to this worker; None if it
    issued no such task."""
    return (
        await session.execute(
            text("SELECT state FROM cases.tasks WHERE id = :t AND case_id = :c AND worker_id = :w"),
            {"t": task_id, "c": case_id, "w": worker_id},
        )
    ).scalar()
