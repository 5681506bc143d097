"""What the device domain does with incoming events: cases revoked a phone."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.context import IntakeContext
from services.intake.device import service
from shared.clock import clock
from shared.contracts.events import DEVICE_REVOKED, DeviceRevoked
from shared.inbox import EventIn, Handler


async def on_device_revoked(session: AsyncSession, event: EventIn, ctx: IntakeContext) -> None:
    ev = DeviceRevoked.model_validate(event.payload)
    await service.mark_revoked(session, ev.device_id, ev.worker_id, clock.now())


HANDLERS: dict[str, Handler[IntakeContext]] = {DEVICE_REVOKED: on_device_revoked}
