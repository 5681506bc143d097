"""Notifications: what someone is told (one per event, rule and recipient). A user's in-app messages
(站内消息) are the notifications that have an inbox delivery."""

from sqlalchemy import Column, DateTime, Index, Table, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import UUID

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
    Index("ix_notifications_created_at", "created_at"),  # the retention tick (jobs.py)
)
