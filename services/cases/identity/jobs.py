"""Identity's tick: the sign-in throttle's rows are deleted once idle past the retention setting."""

from __future__ import annotations

import logging
from datetime import timedelta

from services.cases.identity import service
from shared.db import Database

log = logging.getLogger("cases.identity")


async def prune_login_failures(db: Database, retention_hours: int) -> int:
    """One unit of work; returns the rows deleted. Safe on any number of replicas (a plain DELETE)."""
    async with db.unit_of_work() as session:
        deleted = await service.prune_login_failures(session, timedelta(hours=retention_hours))
    if deleted:
        log.info("pruned %d sign-in throttle rows", deleted)
    return deleted
