"""Identity's retention ticks (hourly): refresh tokens expired longer than REFRESH_TOKEN_RETENTION_DAYS go,
and the sign-in throttle's rows once idle past LOGIN_FAILURE_RETENTION_HOURS."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from services.cases.identity import repository, service
from shared.clock import clock
from shared.db import Database, prune_in_batches

log = logging.getLogger("cases.identity")


async def prune_refresh_tokens(db: Database, keep: timedelta, batch: int) -> int:
    cut = clock.now() - keep

    async def delete(session: AsyncSession, n: int) -> int:
        return await repository.prune_refresh_tokens(session, cut, n)

    return await prune_in_batches(db, delete, batch)


async def prune_login_failures(db: Database, retention_hours: int) -> int:
    """One unit of work; returns the rows deleted. Safe on any number of replicas (a plain DELETE)."""
    async with db.unit_of_work() as session:
        deleted = await service.prune_login_failures(session, timedelta(hours=retention_hours))
    if deleted:
        log.info("pruned %d sign-in throttle rows", deleted)
    return deleted
