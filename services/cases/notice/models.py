"""Notices: 督办通知书 (supervision) and 风险预警通知书 (risk warning), numbered per area and year."""

from sqlalchemy import Column, DateTime, Integer, PrimaryKeyConstraint, Table, Text
from sqlalchemy.dialects.postgresql import UUID

from services.cases.db import metadata

notices = Table(
    "notices",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("number", Text, nullable=False, unique=True),
    Column("kind", Text, nullable=False),  # supervision | risk_warning
    Column("case_id", UUID(as_uuid=True), index=True),
    Column("deadline_id", UUID(as_uuid=True)),
    Column("area_code", Text, nullable=False),
    Column("unit", Text, nullable=False),  # department code, or the area's centre
    Column("subject", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("state", Text, nullable=False),  # issued | answered | closed
    Column("issued_at", DateTime(timezone=True), nullable=False),
    Column("respond_by", DateTime(timezone=True)),
    Column("answer", Text),
    Column("answered_at", DateTime(timezone=True)),
    Column("answered_by", Text),
    Column("closed_at", DateTime(timezone=True)),
    Column("closed_by", Text),
    Column("issued_by", Text),  # system:clock (the ladder) or the person who issued it (领导督办)
    Column("reason", Text),  # a notice issued by hand: why
)

notice_counters = Table(
    "notice_counters",
    metadata,
    Column("area_code", Text, nullable=False),
    Column("year", Integer, nullable=False),
    Column("kind", Text, nullable=False),
    Column("last", Integer, nullable=False),
    PrimaryKeyConstraint("area_code", "year", "kind"),
)
