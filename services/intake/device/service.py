"""Devices: the phones grid workers sync from (last contact, clock offset, revocation)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.device import repository
from services.intake.device.exceptions import GridWorkersOnly, RevokedDevice
from shared.auth import Principal


def require_grid_worker(principal: Principal) -> None:
    if principal.role != "grid_worker":
        raise GridWorkersOnly()


async def touch(
    session: AsyncSession, device_id: str, worker_id: str, now: datetime, offset_ms: int | None
) -> datetime | None:
    """Record that the device spoke now; returns its revocation time if it was revoked."""
    return await repository.touch(session, device_id, worker_id, now, offset_ms)


async def refuse_if_revoked(session: AsyncSession, device_id: str | None) -> None:
    if device_id and await repository.revoked_at(session, device_id):
        raise RevokedDevice()


async def mark_revoked(session: AsyncSession, device_id: str, worker_id: str | None, at: datetime) -> None:
    await repository.mark_revoked(session, device_id, worker_id, at)
