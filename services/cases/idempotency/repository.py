"""SQL of idempotency keys."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

import orjson
from sqlalchemy import CursorResult, text
from sqlalchemy.ext.asyncio import AsyncSession


async def claim(session: AsyncSession, actor: str, key: str, request_hash: str, now: datetime) -> bool:
    """True if this request owns the key now. A concurrent holder makes this wait for its outcome."""
    row = (
        await session.execute(
            text(
                """INSERT INTO cases.idempotency_keys (actor, key, request_hash, status, response, created_at)
                   VALUES (:a, :k, :h, 0, '{}'::jsonb, :now) ON CONFLICT DO NOTHING RETURNING 1"""
            ),
            {"a": actor, "k": key, "h": request_hash, "now": now},
        )
    ).first()
    return row is not None


async def stored(session: AsyncSession, actor: str, key: str) -> Any:
    return (
        await session.execute(
            text("SELECT request_hash, status, response FROM cases.idempotency_keys WHERE actor = :a AND key = :k"),
            {"a": actor, "k": key},
        )
    ).first()


async def finish(session: AsyncSession, actor: str, key: str, status: int, response: Any) -> None:
    await session.execute(
        text(
            "UPDATE cases.idempotency_keys SET status = :s, response = CAST(:r AS jsonb) WHERE actor = :a AND key = :k"
        ),
        {"a": actor, "k": key, "s": status, "r": orjson.dumps(response).decode()},
    )


async def prune(session: AsyncSession, before: datetime, limit: int) -> int:
    """Delete up to `limit` keys first used before `before` (a repeat after that runs anew)."""
    result = await session.execute(
        text(
            """DELETE FROM cases.idempotency_keys WHERE (actor, key) IN (
                 SELECT actor, key FROM cases.idempotency_keys WHERE created_at < :before LIMIT :n)"""
        ),
        {"before": before, "n": limit},
    )
    return cast("CursorResult[Any]", result).rowcount or 0
