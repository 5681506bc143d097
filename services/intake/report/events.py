"""What the report domain does with incoming events: a report's fate changed in cases."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.context import IntakeContext
from services.intake.feed import service as feed
from services.intake.report import service
from shared.clock import clock
from shared.contracts.events import REPORT_STATUS, ReportStatus
from shared.inbox import BatchHandler, EventIn, Handler


async def on_report_status(session: AsyncSession, event: EventIn, ctx: IntakeContext) -> None:
    """Record it and tell the worker's phone through the feed."""
    status = ReportStatus.model_validate(event.payload)
    now = clock.now()
    row = await service.apply_status(session, status, now)
    worker_id = row.worker_id if row else status.worker_id
    data = status.model_dump(exclude={"worker_id"})
    if row:
        data["report_no"] = row.report_no
    await feed.append(session, worker_id, [("report.status", data)], now)


async def on_report_statuses(session: AsyncSession, events: list[EventIn], ctx: IntakeContext) -> None:
    """Many report.status at once: each report updated and each worker's feed appended in event order, as
    `on_report_status` one after another, in three statements."""
    statuses = [ReportStatus.model_validate(ev.payload) for ev in events]
    if len({s.report_id for s in statuses}) < len(statuses):  # one report twice: its changes one by one
        for ev in events:
            await on_report_status(session, ev, ctx)
        return
    now = clock.now()
    rows = await service.apply_statuses(session, statuses, now)
    entries: dict[str, list[feed.Entry]] = {}
    for status, row in zip(statuses, rows, strict=True):
        data = status.model_dump(exclude={"worker_id"})
        if row:
            data["report_no"] = row.report_no
        entries.setdefault(row.worker_id if row else status.worker_id, []).append(("report.status", data))
    await feed.append_each(session, entries, now)


HANDLERS: dict[str, Handler[IntakeContext]] = {REPORT_STATUS: on_report_status}
BATCH_HANDLERS: dict[str, BatchHandler[IntakeContext]] = {REPORT_STATUS: on_report_statuses}
