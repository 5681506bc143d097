"""SQL of identity: users, clients, devices, refresh tokens, the sign-in throttle."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, text
from sqlalchemy.ext.asyncio import AsyncSession


async def user_by_username(session: AsyncSession, username: str) -> Any:
    return (
        await session.execute(
            text(
                "SELECT id, username, name, role, department_code, areas, password_hash, active FROM cases.users "
                "WHERE username = :u"
            ),
            {"u": username},
        )
    ).first()


async def user_by_id(session: AsyncSession, user_id: uuid.UUID) -> Any:
    return (
        await session.execute(
            text(
                "SELECT id, username, name, role, department_code, areas, password_hash, active FROM cases.users "
                "WHERE id = :i"
            ),
            {"i": user_id},
        )
    ).first()


async def client_by_id(session: AsyncSession, client_id: str) -> Any:
    return (
        await session.execute(
            text("SELECT client_id, secret_hash, department_code, active FROM cases.clients WHERE client_id = :c"),
            {"c": client_id},
        )
    ).first()


async def count_attempt(
    session: AsyncSession, principal: str, now: datetime, free: int, max_wait: int, reset_after: timedelta
) -> float | None:
    """Count a sign-in attempt in one statement (parallel attempts queue on the row). None when it may
    go ahead; else the seconds left until the next attempt is allowed (nothing is counted then).
    A streak idle for `reset_after` starts again."""
    allowed = (
        await session.execute(
            text(
                """INSERT INTO cases.login_failures AS f (principal, failures, last_failure_at) VALUES (:p, 1, :now)
                   ON CONFLICT (principal) DO UPDATE SET
                     failures = CASE
                       WHEN f.last_failure_at < CAST(:now AS timestamptz) - CAST(:reset AS interval) THEN 1
                       ELSE f.failures + 1 END,
                     last_failure_at = :now
                   WHERE f.failures < :free
                      OR f.last_failure_at + make_interval(secs => LEAST(power(2, f.failures - :free), :cap)) <= :now
                   RETURNING failures"""
            ),
            {"p": principal, "now": now, "free": free, "cap": max_wait, "reset": reset_after},
        )
    ).first()
    if allowed is not None:
        return None
    row = (
        await session.execute(
            text(
                """SELECT EXTRACT(EPOCH FROM f.last_failure_at
                                   + make_interval(secs => LEAST(power(2, f.failures - :free), :cap))
                          - CAST(:now AS timestamptz)) AS wait
                   FROM cases.login_failures f WHERE principal = :p"""
            ),
            {"p": principal, "now": now, "free": free, "cap": max_wait},
        )
    ).first()
    return float(row.wait) if row is not None else 1.0


async def clear_failures(session: AsyncSession, principal: str) -> None:
    await session.execute(text("DELETE FROM cases.login_failures WHERE principal = :p"), {"p": principal})


async def forgive_attempt(session: AsyncSession, principal: str) -> None:
    """Take one counted attempt back (it succeeded)."""
    await session.execute(
        text("UPDATE cases.login_failures SET failures = GREATEST(failures - 1, 0) WHERE principal = :p"),
        {"p": principal},
    )


async def prune_failures(session: AsyncSession, before: datetime) -> int:
    result = await session.execute(
        text("DELETE FROM cases.login_failures WHERE last_failure_at < :before RETURNING 1"), {"before": before}
    )
    return len(result.all())


async def device(session: AsyncSession, device_id: str) -> Any:
    return (
        await session.execute(
            text("SELECT device_id, user_id, revoked_at FROM cases.devices WHERE device_id = :d"), {"d": device_id}
        )
    ).first()


async def touch_device(session: AsyncSession, device_id: str, user_id: uuid.UUID, now: datetime) -> None:
    await session.execute(
        text(
            """INSERT INTO cases.devices (device_id, user_id, first_seen_at, last_seen_at) VALUES (:d, :u, :now, :now)
               ON CONFLICT (device_id) DO UPDATE SET user_id = EXCLUDED.user_id, last_seen_at = EXCLUDED.last_seen_at"""
        ),
        {"d": device_id, "u": user_id, "now": now},
    )


async def revoke_device(session: AsyncSession, device_id: str, by: str, now: datetime) -> Any:
    return (
        await session.execute(
            text(
                """UPDATE cases.devices
                   SET revoked_at = COALESCE(revoked_at, :now), revoked_by = COALESCE(revoked_by, :by)
                   WHERE device_id = :d RETURNING device_id, user_id, revoked_at"""
            ),
            {"d": device_id, "by": by, "now": now},
        )
    ).first()


async def revoke_device_tokens(session: AsyncSession, device_id: str, now: datetime) -> int:
    result = await session.execute(
        text(
            "UPDATE cases.refresh_tokens SET revoked_at = :now WHERE device_id = :d AND revoked_at IS NULL RETURNING 1"
        ),
        {"d": device_id, "now": now},
    )
    return len(result.all())


async def insert_refresh(session: AsyncSession, row: dict[str, Any]) -> None:
    await session.execute(
        text(
            """INSERT INTO cases.refresh_tokens (id, family, subject, device_id, secret_hash, issued_at, expires_at)
               VALUES (:id, :family, :subject, :device_id, :secret_hash, :issued_at, :expires_at)"""
        ),
        row,
    )


async def refresh_for_update(session: AsyncSession, token_id: uuid.UUID, lock: bool = True) -> Any:
    return (
        await session.execute(
            text(
                """SELECT id, family, subject, device_id, secret_hash, expires_at, used_at, revoked_at, replaced_by
                   FROM cases.refresh_tokens WHERE id = :i"""
                + (" FOR UPDATE" if lock else "")
            ),
            {"i": token_id},
        )
    ).first()


async def mark_refresh_used(
    session: AsyncSession, token_id: uuid.UUID, used_at: datetime, successor: uuid.UUID
) -> None:
    await session.execute(
        text("UPDATE cases.refresh_tokens SET used_at = :at, replaced_by = :s WHERE id = :i"),
        {"i": token_id, "at": used_at, "s": successor},
    )


async def revoke_refresh(session: AsyncSession, token_id: uuid.UUID | None, now: datetime) -> None:
    if token_id is not None:
        await session.execute(
            text("UPDATE cases.refresh_tokens SET revoked_at = COALESCE(revoked_at, :now) WHERE id = :i"),
            {"i": token_id, "now": now},
        )


async def revoke_family(session: AsyncSession, family: uuid.UUID, now: datetime) -> None:
    await session.execute(
        text("UPDATE cases.refresh_tokens SET revoked_at = COALESCE(revoked_at, :now) WHERE family = :f"),
        {"f": family, "now": now},
    )


async def prune_refresh_tokens(session: AsyncSession, expired_before: datetime, limit: int) -> int:
    """Delete up to `limit` refresh tokens that expired before `expired_before` (a replay of one is
    refused as unknown, as it was refused as expired)."""
    result = await session.execute(
        text(
            """DELETE FROM cases.refresh_tokens WHERE id IN (
                 SELECT id FROM cases.refresh_tokens WHERE expires_at < :before LIMIT :n)"""
        ),
        {"before": expired_before, "n": limit},
    )
    return cast("CursorResult[Any]", result).rowcount or 0
