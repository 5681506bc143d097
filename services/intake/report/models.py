from sqlalchemy import Column, DateTime, Double, Index, Integer, LargeBinary, Numeric, Sequence, Table, Text, text
from sqlalchemy.dialects.postgresql import JSONB, UUID

from services.intake.db import metadata

report_no_seq = Sequence("report_no_seq", metadata=metadata)

reports = Table(
    "reports",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("report_no", Text, nullable=False, unique=True),
    Column("worker_id", Text, nullable=False),
    Column("device_id", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("category", Text),
    Column("title", Text),
    Column("description", Text),
    Column("grid", Text),
    Column("lat", Double),
    Column("lon", Double),
    Column("address", Text),
    Column("occurred_at", DateTime(timezone=True)),
    Column("captured_at", DateTime(timezone=True)),
    Column("parties", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("people_involved", Integer),
    Column("amount_cny", Numeric(14, 2)),
    Column("flags", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("attachments", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("followup", JSONB),
    Column("content_hash", LargeBinary, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("clock_offset_ms", Integer),
    Column("state", Text, nullable=False, server_default="submitted"),
    Column("case_id", UUID(as_uuid=True)),
    Column("case_number", Text),
    Column("level", Text),
    Column("reply", Text),
    Column("status_at", DateTime(timezone=True)),
    Index("ix_reports_worker_received", "worker_id", "received_at"),
    Index("ix_reports_attachments", "attachments", postgresql_using="gin"),
    postgresql_with={"fillfactor": 80},  # room for the case recorded as a heap-only update (migration 0031)
)
