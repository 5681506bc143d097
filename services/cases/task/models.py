"""The tasks cases hands to grid workers' phones (a revisit 回访 …), one per worker and case."""

from sqlalchemy import Column, DateTime, Table, Text
from sqlalchemy.dialects.postgresql import UUID

from services.cases.db import metadata

tasks = Table(
    "tasks",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("case_id", UUID(as_uuid=True), nullable=False, index=True),
    Column("worker_id", Text, nullable=False),
    Column("kind", Text, nullable=False),  # revisit
    Column("state", Text, nullable=False),  # open | done | cancelled
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("done_at", DateTime(timezone=True)),
)
