"""The SQL of turning an event into notifications and deliveries (set-based: one statement each)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

_NOTIFICATION_COLUMNS = (
    "id",
    "event_id",
    "event_type",
    "rule",
    "recipient",
    "title",
    "body",
    "case_id",
    "major",
    "now",
)


async def insert_notifications(session: AsyncSession, rows: list[dict[str, Any]]) -> set[Any]:
    """Insert what is new; returns the ids inserted (a repeat of an event's rule and recipient is not)."""
    if not rows:
        return set()
    result = await session.execute(
        text(
            """INSERT INTO notify.notifications (id, event_id, event_type, rule, recipient, title, body, case_id, major, created_at)
               SELECT * FROM unnest(CAST(:id AS uuid[]), CAST(:event_id AS uuid[]), CAST(:event_type AS text[]), CAST(:rule AS text[]),
                 CAST(:recipient AS text[]), CAST(:title AS text[]), CAST(:body AS text[]), CAST(:case_id AS text[]),
                 CAST(:major AS text[]), CAST(:now AS timestamptz[]))
               ON CONFLICT ON CONSTRAINT uq_notifications_event_rule_recipient DO NOTHING RETURNING id"""
        ),
        {k: [n[k] for n in rows] for k in _NOTIFICATION_COLUMNS},
    )
    return {row.id for row in result}


async def insert_deliveries(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    await session.execute(
        text(
            """INSERT INTO notify.deliveries (id, notification_id, channel, recipient, target, message_id, payload, state,
                 last_error, next_attempt_at, delivered_at, event_at, created_at)
               VALUES (:id, :notification_id, :channel, :recipient, :target, :message_id, CAST(:payload AS jsonb), :state,
                 :last_error, :next_attempt_at, :delivered_at, :event_at, :now)
               ON CONFLICT ON CONSTRAINT uq_deliveries_notification_channel DO NOTHING"""
        ),
        rows,
    )
