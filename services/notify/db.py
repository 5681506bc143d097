"""The notify schema."""

from sqlalchemy import Column, DateTime, Index, Integer, Table, Text
from sqlalchemy.dialects.postgresql import JSONB, UUID

from shared.db import service_metadata
from shared.outbox import inbox_table, outbox_table

SCHEMA = "notify"
metadata = service_metadata(SCHEMA)
inbox = inbox_table(metadata)
outbox = outbox_table(metadata)

# Every event notify has been told of, kept in arrival order: the input its rules turn into deliveries.
events = Table(
    "events",
    metadata,
    Column("event_id", UUID(as_uuid=True), primary_key=True),
    Column("type", Text, nullable=False),
    Column("aggregate_id", Text, nullable=False),
    Column("payload", JSONB, nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Index("ix_events_type_received", "type", "received_at"),
)

sms_counters = Table(
    "sms_counters",
    metadata,
    Column("phone_hash", Text, primary_key=True),
    Column("day", Text, primary_key=True),
    Column("sent", Integer, nullable=False),
)

job_runs = Table(
    "job_runs",
    metadata,
    Column("job", Text, primary_key=True),
    Column("period", Text, primary_key=True),  # e.g. 2026-11-22 for a daily job: one replica runs it
    Column("started_at", DateTime(timezone=True), nullable=False),
)
