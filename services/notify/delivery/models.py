"""Notifications (what someone is told) and deliveries (one per channel and recipient, with attempts)."""

from sqlalchemy import Column, DateTime, Index, Integer, Table, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB, UUID

from services.notify.db import metadata

notifications = Table(
    "notifications",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("event_id", UUID(as_uuid=True), nullable=False),
    Column("event_type", Text, nullable=False),
    Column("rule", Text, nullable=False),
    Column("recipient", Text, nullable=False),  # user:<username> | department:<code> | worker:<id> | phone:<hash>
    Column("title", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("case_id", Text),
    Column("major", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("read_at", DateTime(timezone=True)),
    UniqueConstraint("event_id", "rule", "recipient", name="uq_notifications_event_rule_recipient"),
    Index("ix_notifications_recipient_created", "recipient", "created_at"),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("notification_id", UUID(as_uuid=True), nullable=False, index=True),
    Column("channel", Text, nullable=False),  # webhook | sms | phone | inbox
    Column("recipient", Text, nullable=False),
    Column("target", Text),  # department code for webhooks, encrypted phone for sms, worker id for phone
    Column("message_id", Text, nullable=False),  # webhook-id: stable across retries
    Column("payload", JSONB, nullable=False),
    Column("state", Text, nullable=False),  # pending | delivered | failed | dead
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", DateTime(timezone=True)),
    Column("lease_until", DateTime(timezone=True)),
    Column("last_error", Text),
    Column("last_status", Integer),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("delivered_at", DateTime(timezone=True)),
    Column("event_at", DateTime(timezone=True)),  # when the event happened (end-to-end latency)
    UniqueConstraint("notification_id", "channel", name="uq_deliveries_notification_channel"),
    Index("ix_deliveries_due", "next_attempt_at", postgresql_where=text("state IN ('pending', 'failed')")),
    Index("ix_deliveries_state", "state", "created_at"),
)
