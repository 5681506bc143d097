"""Devices: the phones grid workers sync from (last contact, clock offset, revocation)."""

from __future__ import annotations

import math
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.config import PushRateLimit
from services.intake.device import repository
from services.intake.device.exceptions import GridWorkersOnly, PushRateExceeded, RevokedDevice
from shared.auth import Principal


def require_grid_worker(principal: Principal) -> None:
    if principal.role != "grid_worker":
        raise GridWorkersOnly()


async def touch_for_push(
    session: AsyncSession,
    device_id: str,
    worker_id: str,
    now: datetime,
    offset_ms: int | None,
    items: int,
    limit: PushRateLimit,
) -> None:
    """A push from the device: record it, refuse a revoked device (403) and a device over its push rate
    (429 with Retry-After: the seconds until the bucket holds this push again). Each item costs one token,
    an empty push one; nothing is taken from the bucket when the push is refused (the request rolls back)."""
    cost = max(1, items)
    revoked, left = await repository.touch(
        session, device_id, worker_id, now, offset_ms, cost, limit.burst_items, limit.per_second
    )
    if revoked:
        raise RevokedDevice()
    if left is not None and left < 0:
        raise PushRateExceeded(math.ceil(-left / limit.per_second) if limit.per_second > 0 else 3600)


async def refuse_if_revoked(session: AsyncSession, device_id: str | None) -> None:
    if device_id and await repository.revoked_at(session, device_id):
        raise RevokedDevice()


async def mark_revoked(session: AsyncSession, device_id: str, worker_id: str | None, at: datetime) -> None:
    await repository.mark_revoked(session, device_id, worker_id, at)
