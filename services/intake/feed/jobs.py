"""The feed's housekeeping tick."""

from __future__ import annotations

from datetime import timedelta

from services.intake.feed import service
from shared.clock import clock
from shared.db import Database


async def prune_feed(db: Database, retention: timedelta) -> int:
    """Forget changes older than the retention (cursors older than what is kept then get 410)."""
    async with db.unit_of_work() as session:
        return await service.prune(session, clock.now(), retention)
