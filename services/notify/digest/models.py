"""The runs of once-a-day jobs: a (job, period) row is claimed by one replica, which then runs it."""

from sqlalchemy import Column, DateTime, Table, Text

from services.notify.db import metadata

job_runs = Table(
    "job_runs",
    metadata,
    Column("job", Text, primary_key=True),
    Column("period", Text, primary_key=True),  # e.g. 2026-11-22 for a daily job: one replica runs it
    Column("started_at", DateTime(timezone=True), nullable=False),
)
