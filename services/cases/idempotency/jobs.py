"""Idempotency keys' retention tick (hourly): keys older than IDEMPOTENCY_RETENTION_DAYS go."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from services.cases.idempotency import repository
from shared.clock import clock
from shared.db import Database, prune_in_batches


async def prune_idempotency_keys(db: Database, keep: timedelta, batch: int) -> int:
    cut = clock.now() - keep

    async def delete(session: AsyncSession, n: int) -> int:
        return await repository.prune(session, cut, n)

    return await prune_in_batches(db, delete, batch)
