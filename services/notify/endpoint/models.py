"""Department webhook endpoints: URL, signing secrets (rotation keeps the old one 24 h), state."""

from sqlalchemy import Column, DateTime, Table, Text
from sqlalchemy.dialects.postgresql import JSONB

from services.notify.db import metadata

endpoints = Table(
    "endpoints",
    metadata,
    Column("department_code", Text, primary_key=True),
    Column("url", Text, nullable=False),
    Column("secrets", JSONB, nullable=False),  # [{"secret_enc": …, "added_at": …, "expires_at": null|…}], newest first
    Column("state", Text, nullable=False, server_default="active"),  # active | disabled
    Column("disabled_reason", Text),
    # operator: set with PUT /v1/endpoints (the org document no longer changes it) | directory: from the org document
    Column("source", Text, nullable=False, server_default="operator"),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
