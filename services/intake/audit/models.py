"""The audit log (审计日志): who looked at or took out personal data — kept at least six months
(Cybersecurity Law, art. 21), never pruned earlier (jobs.py)."""

from sqlalchemy import BigInteger, Column, DateTime, Index, Table, Text
from sqlalchemy.dialects.postgresql import JSONB

from services.intake.db import metadata

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", Text, nullable=False),  # role:username (or role:subject)
    Column("action", Text, nullable=False),  # download_attachment
    Column("object_type", Text, nullable=False),
    Column("object_id", Text),
    Column("reason", Text),
    Column("detail", JSONB, nullable=False, server_default="{}"),
    Index("ix_audit_log_at", "at"),
)
