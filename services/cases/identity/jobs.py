"""Identity's retention tick (hourly): refresh tokens expired longer than REFRESH_TOKEN_RETENTION_DAYS go."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from services.cases.identity import repository
from shared.clock import clock
from shared.db import Database, prune_in_batches


async def prune_refresh_tokens(db: Database, keep: timedelta, batch: int) -> int:
    cut = clock.now() - keep

    async def delete(session: AsyncSession, n: int) -> int:
        return await repository.prune_refresh_tokens(session, cut, n)

    return await prune_in_batches(db, delete, batch)
