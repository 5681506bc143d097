"""Deliveries (one per notification and channel, with attempts) and the SMS daily counters."""

from sqlalchemy import Column, DateTime, Index, Integer, Table, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB, UUID

from services.notify.db import metadata

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("notification_id", UUID(as_uuid=True), nullable=False),  # led by uq_deliveries_notification_channel
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
    postgresql_with={"fillfactor": 60},  # room for the lease as a heap-only update (migration 0031)
)

# SMS sent per recipient (keyed hash of the phone) and China calendar day: the daily cap.
sms_counters = Table(
    "sms_counters",
    metadata,
    Column("phone_hash", Text, primary_key=True),
    Column("day", Text, primary_key=True),
    Column("sent", Integer, nullable=False),
)
