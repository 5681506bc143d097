"""Whistle items (吹哨): one per department the centre calls on."""

from sqlalchemy import Column, DateTime, Index, Table, Text
from sqlalchemy.dialects.postgresql import UUID

from services.cases.db import metadata

whistles = Table(
    "whistles",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("case_id", UUID(as_uuid=True), nullable=False, index=True),
    Column("department_code", Text, nullable=False),
    Column("role", Text, nullable=False),  # lead | assist
    Column("state", Text, nullable=False),  # pending | acknowledged | working | done | returned
    Column("reason", Text),
    Column("return_reason", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("acknowledged_at", DateTime(timezone=True)),
    Column("done_at", DateTime(timezone=True)),
    Column("returned_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_whistles_department_state", "department_code", "state"),
)
