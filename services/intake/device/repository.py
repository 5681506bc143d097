"""Devices: last contact, clock offset, revocation."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


async def touch(
    session: AsyncSession, device_id: str, worker_id: str, now: datetime, offset_ms: int | None
) -> datetime | None:
    """Record that the device spoke now; returns its revocation time if it was revoked."""
    row = (
        await session.execute(
            text(
                """INSERT INTO intake.devices (device_id, worker_id, first_seen_at, last_seen_at, clock_offset_ms)
                   VALUES (:d, :w, :now, :now, :off)
                   ON CONFLICT (device_id) DO UPDATE SET worker_id = EXCLUDED.worker_id,
                     last_seen_at = EXCLUDED.last_seen_at,
                     clock_offset_ms = COALESCE(EXCLUDED.clock_offset_ms, intake.devices.clock_offset_ms)
                   RETURNING revoked_at"""
            ),
            {"d": device_id, "w": worker_id, "now": now, "off": offset_ms},
        )
    ).first()
    return row.revoked_at if row else None


async def revoked_at(session: AsyncSession, device_id: str) -> datetime | None:
    return (
        await session.execute(text("SELECT revoked_at FROM intake.devices WHERE device_id = :d"), {"d": device_id})
    ).scalar()


async def mark_revoked(session: AsyncSession, device_id: str, worker_id: str | None, at: datetime) -> None:
    await session.execute(
        text(
            """INSERT INTO intake.devices (device_id, worker_id, first_seen_at, last_seen_at, revoked_at)
               VALUES (:d, :w, :at, :at, :at)
               ON CONFLICT (device_id) DO UPDATE
                 SET revoked_at = COALESCE(intake.devices.revoked_at, EXCLUDED.revoked_at)"""
        ),
        {"d": device_id, "w": worker_id, "at": at},
    )
