"""Notifications' retention tick (hourly): notifications older than NOTIFICATION_RETENTION_DAYS go with
their delivered rows; one with a dead, failed or pending delivery stays (an operator's dead letter)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from services.notify.delivery import service as delivery_service
from services.notify.notification import repository
from shared.clock import clock
from shared.db import Database, prune_in_batches


async def prune_notifications(db: Database, keep: timedelta, batch: int) -> int:
    cut = clock.now() - keep

    async def delete_deliveries(session: AsyncSession, n: int) -> int:
        return await delivery_service.prune_settled_before(session, cut, n)

    async def delete_notifications(session: AsyncSession, n: int) -> int:
        return await repository.prune(session, cut, n)

    await prune_in_batches(db, delete_deliveries, batch)
    return await prune_in_batches(db, delete_notifications, batch)
