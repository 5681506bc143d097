"""What intake does with the events it receives (from cases)."""

from __future__ import annotations

import uuid
from typing import Any

from services.intake.device import repository as devices
from services.intake.directory import repository as directory
from services.intake.feed import repository as feed
from services.intake.report import repository as reports
from services.intake.task import repository as tasks
from shared.clock import clock
from shared.contracts.events import (
    DEVICE_MESSAGE,
    DEVICE_REVOKED,
    DIRECTORY_CHANGED,
    REPORT_STATUS,
    TASK_ASSIGNED,
    TASK_CANCELLED,
    DeviceRevoked,
    DirectoryChanged,
    ReportStatus,
    TaskCancelled,
)
from shared.inbox import EventIn


async def on_report_status(session: Any, event: EventIn, ctx: Any) -> None:
    """A report's fate changed in cases: record it and tell the worker's phone through the feed."""
    status = ReportStatus.model_validate(event.payload)
    now = clock.now()
    row = await reports.apply_status(
        session,
        uuid.UUID(status.report_id),
        {
            "state": status.state,
            "case_id": uuid.UUID(status.case_id) if status.case_id else None,
            "case_number": status.case_number,
            "level": status.level,
            "reply": status.reply,
        },
        now,
    )
    worker_id = row.worker_id if row else status.worker_id
    data = status.model_dump(exclude={"worker_id"})
    if row:
        data["report_no"] = row.report_no
    await feed.append(session, worker_id, [("report.status", data)], now)


async def on_device_revoked(session: Any, event: EventIn, ctx: Any) -> None:
    ev = DeviceRevoked.model_validate(event.payload)
    await devices.mark_revoked(session, ev.device_id, ev.worker_id, clock.now())


async def on_directory_changed(session: Any, event: EventIn, ctx: Any) -> None:
    """The org changed in cases: intake's copy becomes the snapshot (retired areas stop binding grids),
    and each grid worker whose reference data changed gets one `reference` change in the feed."""
    ev = DirectoryChanged.model_validate(event.payload)
    now = clock.now()
    known = await directory.worker_scopes(session)
    scopes = known if ev.workers is None else {w.worker_id: tuple(w.areas) for w in ev.workers}
    # before: each worker's reference as the phone last had it (old copy, old areas)
    before = await directory.references_for(session, {w: known.get(w, scope) for w, scope in scopes.items()})
    await directory.replace(session, [a.model_dump() for a in ev.areas], [d.model_dump() for d in ev.departments], now)
    if ev.workers is not None:
        await directory.replace_workers(session, scopes, now)
    after = await directory.references_for(session, scopes)
    changed = {w: ("reference", ref) for w, ref in after.items() if ref != before.get(w)}
    await feed.append_to_each(session, changed, now)


async def on_task_assigned(session: Any, event: EventIn, ctx: Any) -> None:
    """Work for a worker (a revisit 回访 …): kept for snapshots and sent down the feed once."""
    data = dict(event.payload)
    worker_id = str(data["worker_id"])
    task_id = uuid.UUID(str(data["task_id"]))
    now = clock.now()
    case_id = uuid.UUID(str(data["case_id"])) if data.get("case_id") else None
    data.pop("worker_id", None)
    if await tasks.upsert(session, task_id, worker_id, str(data.get("kind", "task")), case_id, data, now):
        await feed.append(session, worker_id, [("task", data)], now)


async def on_task_cancelled(session: Any, event: EventIn, ctx: Any) -> None:
    """Cases withdrew a task: it leaves the open list and the phone gets the task with state cancelled."""
    ev = TaskCancelled.model_validate(event.payload)
    now = clock.now()
    if await tasks.cancel(session, uuid.UUID(ev.task_id), ev.worker_id, now):
        await feed.append(
            session, ev.worker_id, [("task", ev.model_dump(exclude={"worker_id"}) | {"state": "cancelled"})], now
        )


async def on_device_message(session: Any, event: EventIn, ctx: Any) -> None:
    """A message for a grid worker's phone (from notify) becomes a `message` change in the feed."""
    data = dict(event.payload)
    worker_id = str(data.pop("worker_id"))
    await feed.append(session, worker_id, [("message", data)], clock.now())


HANDLERS = {
    DEVICE_MESSAGE: on_device_message,
    TASK_ASSIGNED: on_task_assigned,
    TASK_CANCELLED: on_task_cancelled,
    REPORT_STATUS: on_report_status,
    DEVICE_REVOKED: on_device_revoked,
    DIRECTORY_CHANGED: on_directory_changed,
}
