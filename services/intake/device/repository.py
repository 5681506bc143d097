"""Devices: last contact, clock offset, revocation."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


async def touch(
    session: AsyncSession,
    device_id: str,
    worker_id: str,
    now: datetime,
    offset_ms: int | None,
    cost: int = 0,
    burst: float = 0,
    per_second: float = 0,
) -> tuple[datetime | None, float | None]:
    """Record that the device spoke now and take `cost` from its push bucket (a token bucket of `burst`
    items refilled at `per_second`; `burst` 0: no bucket). Returns its revocation time if it was revoked and
    the tokens left, negative when the push asks more than the bucket holds: the caller then refuses the
    request, and the rollback leaves the bucket as it was."""
    row = (
        await session.execute(
            text(
                """WITH p AS (SELECT CAST(:now AS timestamptz) AS now, CAST(:burst AS float8) AS burst,
                                     CAST(:cost AS float8) AS cost, CAST(:rate AS float8) AS rate)
                   INSERT INTO intake.devices AS d (device_id, worker_id, first_seen_at, last_seen_at,
                                                    clock_offset_ms, push_tokens, push_tokens_at)
                   SELECT :d, :w, p.now, p.now, :off,
                          CASE WHEN p.burst > 0 THEN p.burst - p.cost END, CASE WHEN p.burst > 0 THEN p.now END
                   FROM p
                   ON CONFLICT (device_id) DO UPDATE SET worker_id = EXCLUDED.worker_id,
                     last_seen_at = EXCLUDED.last_seen_at,
                     clock_offset_ms = COALESCE(EXCLUDED.clock_offset_ms, d.clock_offset_ms),
                     push_tokens = (SELECT CASE WHEN p.burst > 0 THEN LEAST(p.burst, COALESCE(d.push_tokens, p.burst)
                         + p.rate * GREATEST(0, CAST(EXTRACT(EPOCH FROM p.now - COALESCE(d.push_tokens_at, p.now))
                                                     AS float8))) - p.cost END FROM p),
                     push_tokens_at = EXCLUDED.push_tokens_at
                   RETURNING revoked_at, push_tokens"""
            ),
            {
                "d": device_id,
                "w": worker_id,
                "now": now,
                "off": offset_ms,
                "cost": float(cost),
                "burst": float(burst),
                "rate": float(per_second),
            },
        )
    ).first()
    if row is None:
        return None, None
    return row.revoked_at, row.push_tokens


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
