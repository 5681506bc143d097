"""Devices, refresh tokens and the sign-in throttle."""

from sqlalchemy import Column, DateTime, Index, Integer, Table, Text
from sqlalchemy.dialects.postgresql import UUID

from services.cases.db import metadata

devices = Table(
    "devices",
    metadata,
    Column("device_id", Text, primary_key=True),
    Column("user_id", UUID(as_uuid=True)),
    Column("first_seen_at", DateTime(timezone=True), nullable=False),
    Column("last_seen_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
    Column("revoked_by", Text),
)

refresh_tokens = Table(
    "refresh_tokens",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("family", UUID(as_uuid=True), nullable=False, index=True),
    Column("subject", Text, nullable=False),  # user id or client:<client_id>
    Column("device_id", Text, index=True),
    Column("secret_hash", Text, nullable=False),
    Column("issued_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True)),
    Column("revoked_at", DateTime(timezone=True)),
    Column(
        "replaced_by", UUID(as_uuid=True)
    ),  # the token this one was rotated into (reuse of a used one: its successor is revoked too)
    Index("ix_refresh_tokens_expires_at", "expires_at"),  # the retention tick (jobs.py)
)

login_failures = Table(
    "login_failures",
    metadata,
    Column("principal", Text, primary_key=True),  # username or client id
    Column("failures", Integer, nullable=False),
    Column("last_failure_at", DateTime(timezone=True), nullable=False),
)
