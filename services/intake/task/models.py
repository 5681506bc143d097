from sqlalchemy import Column, DateTime, Index, Table, Text
from sqlalchemy.dialects.postgresql import JSONB, UUID

from services.intake.db import metadata

# Work handed to a grid worker (a revisit 回访, a verification 核查, a household visit), kept so that a
# snapshot can list the open ones.
tasks = Table(
    "tasks",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("worker_id", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("case_id", UUID(as_uuid=True)),
    Column("data", JSONB, nullable=False),
    Column("state", Text, nullable=False),  # open | done | cancelled
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("done_at", DateTime(timezone=True)),
    Index("ix_tasks_worker_state", "worker_id", "state"),
)
