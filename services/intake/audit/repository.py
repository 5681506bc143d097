"""SQL of the audit log: append one entry; delete entries older than a cut, in batches."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

import orjson
from sqlalchemy import CursorResult, text
from sqlalchemy.ext.asyncio import AsyncSession


async def append(
    session: AsyncSession,
    at: datetime,
    actor: str,
    action: str,
    object_type: str,
    object_id: str | None,
    reason: str | None,
    detail: dict[str, Any],
) -> None:
    await session.execute(
        text(
            """INSERT INTO intake.audit_log (at, actor, action, object_type, object_id, reason, detail)
               VALUES (:at, :actor, :action, :type, :id, :reason, CAST(:detail AS jsonb))"""
        ),
        {
            "at": at,
            "actor": actor,
            "action": action,
            "type": object_type,
            "id": object_id,
            "reason": reason,
            "detail": orjson.dumps(detail, default=str).decode(),
        },
    )


async def prune(session: AsyncSession, before: datetime, limit: int) -> int:
    """Delete up to `limit` entries older than `before` (the caller never passes a cut under six months)."""
    result = await session.execute(
        text(
            """DELETE FROM intake.audit_log WHERE id IN (
                 SELECT id FROM intake.audit_log WHERE at < :before ORDER BY at LIMIT :n)"""
        ),
        {"before": before, "n": limit},
    )
    return cast("CursorResult[Any]", result).rowcount or 0
