"""What the report domain does with incoming events: a report's fate changed in cases."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.context import IntakeContext
from services.intake.feed import service as feed
from services.intake.report import service
from shared.clock import clock
from shared.contracts.events import REPORT_STATUS, ReportStatus
from shared.inbox import EventIn, Handler


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


HANDLERS: dict[str, Handler[IntakeContext]] = {REPORT_STATUS: on_report_status}
