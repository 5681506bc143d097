"""Deadlines (时限): one row per clock, with the next moment something must happen."""

from sqlalchemy import Boolean, Column, DateTime, Double, Index, Integer, Table, Text, text
from sqlalchemy.dialects.postgresql import JSONB, UUID

from services.cases.db import metadata

deadlines = Table(
    "deadlines",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("case_id", UUID(as_uuid=True), nullable=False, index=True),
    Column("whistle_id", UUID(as_uuid=True)),
    Column("department_code", Text),
    Column("kind", Text, nullable=False),
    Column("state", Text, nullable=False),  # pending | met | breached | cancelled
    Column("calendar", Text, nullable=False),
    Column("limit_seconds", Double, nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("due_at", DateTime(timezone=True), nullable=False),
    Column("provisional", Boolean, nullable=False, server_default="false"),
    Column("next_step", Integer, nullable=False, server_default="0"),
    Column("next_fire_at", DateTime(timezone=True)),
    Column("paused_at", DateTime(timezone=True)),
    Column("extended_at", DateTime(timezone=True)),
    Column("extension", JSONB),
    Column("met_at", DateTime(timezone=True)),
    Column("met_by", Text),
    Column("breached_at", DateTime(timezone=True)),
    Column("cancelled_at", DateTime(timezone=True)),
    Column("cancel_reason", Text),
    Column("repeat_of", UUID(as_uuid=True)),
    Column("notice_id", UUID(as_uuid=True)),  # a notice_response clock: the notice it waits on
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_deadlines_due_work", "next_fire_at", postgresql_where=text("next_fire_at IS NOT NULL")),
    Index("ix_deadlines_pending_due", "due_at", postgresql_where=text("state = 'pending'")),
    Index("ix_deadlines_notice", "notice_id", postgresql_where=text("notice_id IS NOT NULL")),
    # the operators' figure of breached clocks still owed (/metrics)
    Index(
        "ix_deadlines_breached_owed",
        "due_at",
        postgresql_where=text("state = 'breached' AND met_at IS NULL AND cancel_reason IS NULL"),
    ),
)
