from sqlalchemy import Column, DateTime, Float, Integer, Table, Text

from services.intake.db import metadata

devices = Table(
    "devices",
    metadata,
    Column("device_id", Text, primary_key=True),
    Column("worker_id", Text),
    Column("first_seen_at", DateTime(timezone=True)),
    Column("last_seen_at", DateTime(timezone=True)),
    Column("clock_offset_ms", Integer),
    Column("revoked_at", DateTime(timezone=True)),
    # the push rate bucket (IntakeSettings.push_rate): tokens left at push_tokens_at
    Column("push_tokens", Float),
    Column("push_tokens_at", DateTime(timezone=True)),
)
