"""The audit log's retention tick (hourly): entries older than AUDIT_RETENTION_DAYS (at least 183) go."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.audit import service
from shared.clock import clock
from shared.db import Database, prune_in_batches


async def prune_audit(db: Database, retention_days: float, batch: int) -> int:
    now = clock.now()

    async def delete(session: AsyncSession, n: int) -> int:
        return await service.prune(session, now, retention_days, n)

    return await prune_in_batches(db, delete, batch)
