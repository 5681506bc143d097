"""What the task domain does with incoming events: cases assigned or withdrew a worker's task."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.context import IntakeContext
from services.intake.feed import service as feed
from services.intake.task import service
from shared.clock import clock
from shared.contracts.events import TASK_ASSIGNED, TASK_CANCELLED, TaskCancelled
from shared.inbox import EventIn, Handler


async def on_task_assigned(session: AsyncSession, event: EventIn, ctx: IntakeContext) -> None:
    """Work for a worker (a revisit 回访 …): kept for snapshots and sent down the feed once."""
    data = dict(event.payload)
    worker_id = str(data["worker_id"])
    task_id = uuid.UUID(str(data["task_id"]))
    now = clock.now()
    case_id = uuid.UUID(str(data["case_id"])) if data.get("case_id") else None
    data.pop("worker_id", None)
    if await service.record_assigned(session, task_id, worker_id, str(data.get("kind", "task")), case_id, data, now):
        await feed.append(session, worker_id, [("task", data)], now)


async def on_task_cancelled(session: AsyncSession, event: EventIn, ctx: IntakeContext) -> None:
    """Cases withdrew a task: it leaves the open list and the phone gets the task with state cancelled."""
    ev = TaskCancelled.model_validate(event.payload)
    now = clock.now()
    if await service.cancel(session, uuid.UUID(ev.task_id), ev.worker_id, now):
        await feed.append(
            session, ev.worker_id, [("task", ev.model_dump(exclude={"worker_id"}) | {"state": "cancelled"})], now
        )


HANDLERS: dict[str, Handler[IntakeContext]] = {TASK_ASSIGNED: on_task_assigned, TASK_CANCELLED: on_task_cancelled}
