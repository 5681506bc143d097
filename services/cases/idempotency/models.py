"""Idempotency keys of retried writes: the same key and body get the first answer again."""

from sqlalchemy import Column, DateTime, Index, Integer, PrimaryKeyConstraint, Table, Text
from sqlalchemy.dialects.postgresql import JSONB

from services.cases.db import metadata

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("actor", Text, nullable=False),
    Column("key", Text, nullable=False),
    Column("request_hash", Text, nullable=False),
    Column("status", Integer, nullable=False),
    Column("response", JSONB, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("actor", "key"),
    Index("ix_idempotency_keys_created_at", "created_at"),  # the retention tick (jobs.py)
)
