"""What the directory domain does with incoming events: the org changed in cases."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.context import IntakeContext
from services.intake.directory import service
from services.intake.feed import service as feed
from shared.clock import clock
from shared.contracts.events import DIRECTORY_CHANGED, DirectoryChanged
from shared.inbox import EventIn, Handler


async def on_directory_changed(session: AsyncSession, event: EventIn, ctx: IntakeContext) -> None:
    """Intake's copy becomes the snapshot, and each grid worker whose reference data changed gets one
    `reference` change in the feed."""
    now = clock.now()
    changed = await service.apply_change(session, DirectoryChanged.model_validate(event.payload), now)
    await feed.append_to_each(session, {w: ("reference", ref) for w, ref in changed.items()}, now)


HANDLERS: dict[str, Handler[IntakeContext]] = {DIRECTORY_CHANGED: on_directory_changed}
