"""What the feed does with incoming events: a message for a grid worker's phone (from notify)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.context import IntakeContext
from services.intake.feed import service
from shared.clock import clock
from shared.contracts.events import DEVICE_MESSAGE
from shared.inbox import EventIn, Handler


async def on_device_message(session: AsyncSession, event: EventIn, ctx: IntakeContext) -> None:
    """The message becomes a `message` change in the worker's feed."""
    data = dict(event.payload)
    worker_id = str(data.pop("worker_id"))
    await service.append(session, worker_id, [("message", data)], clock.now())


HANDLERS: dict[str, Handler[IntakeContext]] = {DEVICE_MESSAGE: on_device_message}
