"""All SQL of notifications: the rules' set-based insert, a user's inbox page and marking read."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, text
from sqlalchemy.ext.asyncio import AsyncSession

_COLUMNS = ("id", "event_id", "event_type", "rule", "recipient", "title", "body", "case_id", "major", "now")

# a user's in-app messages: the notifications that have an inbox delivery
_IN_INBOX = "EXISTS (SELECT 1 FROM notify.deliveries d WHERE d.notification_id = n.id AND d.channel = 'inbox')"


async def insert_many(session: AsyncSession, rows: list[dict[str, Any]]) -> set[uuid.UUID]:
    """Insert what is new; returns the ids inserted (a repeat of an event's rule and recipient is not)."""
    if not rows:
        return set()
    result = await session.execute(
        text(
            """INSERT INTO notify.notifications
                 (id, event_id, event_type, rule, recipient, title, body, case_id, major, created_at)
               SELECT * FROM unnest(CAST(:id AS uuid[]), CAST(:event_id AS uuid[]), CAST(:event_type AS text[]),
                 CAST(:rule AS text[]), CAST(:recipient AS text[]), CAST(:title AS text[]), CAST(:body AS text[]),
                 CAST(:case_id AS text[]), CAST(:major AS text[]), CAST(:now AS timestamptz[]))
               ON CONFLICT ON CONSTRAINT uq_notifications_event_rule_recipient DO NOTHING RETURNING id"""
        ),
        {k: [n[k] for n in rows] for k in _COLUMNS},
    )
    return {row.id for row in result}


async def inbox_page(
    session: AsyncSession, recipient: str, status: str | None, after: tuple[datetime, uuid.UUID] | None, limit: int
) -> list[Any]:
    """Up to `limit` of the recipient's in-app messages, newest first, older than `after`."""
    where = ["n.recipient = :who", _IN_INBOX]
    params: dict[str, Any] = {"who": recipient, "n": limit}
    if status == "unread":
        where.append("n.read_at IS NULL")
    elif status == "read":
        where.append("n.read_at IS NOT NULL")
    if after is not None:
        params["a"], params["i"] = after
        where.append("(n.created_at, n.id) < (:a, :i)")
    result = await session.execute(
        text(
            f"SELECT n.* FROM notify.notifications n WHERE {' AND '.join(where)}"
            " ORDER BY n.created_at DESC, n.id DESC LIMIT :n"
        ),
        params,
    )
    return list(result)


async def unread_count(session: AsyncSession, recipient: str) -> int:
    result = await session.execute(
        text(
            "SELECT count(*) FROM notify.notifications n"
            f" WHERE n.recipient = :who AND n.read_at IS NULL AND {_IN_INBOX}"
        ),
        {"who": recipient},
    )
    return int(result.scalar() or 0)


async def mark_read(session: AsyncSession, notification_id: uuid.UUID, recipient: str, now: datetime) -> Any | None:
    """The recipient's notification, read at `now` unless it was read before; None when it is not theirs."""
    result = await session.execute(
        text(
            "UPDATE notify.notifications SET read_at = COALESCE(read_at, :now)"
            " WHERE id = :i AND recipient = :who RETURNING *"
        ),
        {"i": notification_id, "who": recipient, "now": now},
    )
    return result.first()


async def prune(session: AsyncSession, before: datetime, limit: int) -> int:
    """Delete up to `limit` notifications made before `before` that no delivery refers to any more."""
    result = await session.execute(
        text(
            """DELETE FROM notify.notifications WHERE id IN (
                 SELECT n.id FROM notify.notifications n
                 WHERE n.created_at < :before
                   AND NOT EXISTS (SELECT 1 FROM notify.deliveries d WHERE d.notification_id = n.id)
                 LIMIT :n)"""
        ),
        {"before": before, "n": limit},
    )
    return cast("CursorResult[Any]", result).rowcount or 0
