"""Cases, the reports they came from, their grades and the timeline (一事一档, never edited)."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    Numeric,
    Sequence,
    Table,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

from services.cases.db import metadata

case_number_seq = Sequence("case_number_seq", metadata=metadata)

cases = Table(
    "cases",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("number", Text, nullable=False, unique=True),
    Column("state", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("category", Text),
    Column("title", Text),
    Column("description", Text),
    Column("area_code", Text, nullable=False),
    Column("area_path", ARRAY(Text), nullable=False),
    Column("tier", Text),
    Column("level", Text),
    # the handling centres' area codes (承办中心: the tier's centre, then a joint tier's), kept with the tier
    Column("handling", ARRAY(Text), nullable=False, server_default="{}"),
    Column("reporter_id", Text),
    Column("parties", JSONB, nullable=False),
    Column("people_involved", Integer),
    Column("amount_cny", Numeric(14, 2)),
    Column("flags", JSONB, nullable=False),
    Column("location", JSONB),
    Column("attachments", JSONB, nullable=False),
    Column("occurred_at", DateTime(timezone=True)),
    Column("grade", JSONB),  # the current grade: level, score, reasons, by
    Column("initial_tier", Text),
    Column("inform_county", Boolean, nullable=False, server_default="false"),
    Column("responsible_unit", Text),
    Column("responsible_person", Text),
    Column("resolution", JSONB),  # outcome, note, at
    Column("reply_text", Text),
    Column("deferral", JSONB),  # 短期内难以解决: reason, expected_by, at, by (the reply clock started then)
    Column("satisfaction", Text),
    Column("merged_into", UUID(as_uuid=True)),
    Column(
        "channel", Text, nullable=False, server_default="grid"
    ),  # grid | visit | phone | letter | hotline_12345 | online
    Column("external_ref", Text),  # the 12345 hotline's work-order number (or another channel's reference)
    Column("registered_by", Text),  # role:username of the dispatcher who registered it at the desk
    Column("suspended_at", DateTime(timezone=True)),
    Column("closed_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_cases_area_path", "area_path", postgresql_using="gin"),
    Index("ix_cases_handling", "handling", postgresql_using="gin"),
    Index("ix_cases_created", "created_at", "id"),
    Index("ix_cases_external_ref", "external_ref", postgresql_where=text("external_ref IS NOT NULL")),
)

case_reports = Table(
    "case_reports",
    metadata,
    Column("report_id", UUID(as_uuid=True), primary_key=True),
    Column("report_no", Text, nullable=False, unique=True),
    Column("case_id", UUID(as_uuid=True), nullable=False, index=True),
    Column("worker_id", Text, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
)

timeline = Table(
    "timeline",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("case_id", UUID(as_uuid=True), nullable=False, index=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", Text, nullable=False),
    Column("action", Text, nullable=False),
    Column("from_state", Text),
    Column("to_state", Text),
    Column("note", Text),
    Column("data", JSONB),
)

grades = Table(
    "grades",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("case_id", UUID(as_uuid=True), nullable=False, index=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("level", Text, nullable=False),
    Column("score", Integer, nullable=False),
    Column("reasons", JSONB, nullable=False),
    Column("tier", Text, nullable=False),
    Column("by", Text, nullable=False),  # rules | override
    Column("actor", Text, nullable=False),
    Column("note", Text),
)


class CaseRow(Protocol):
    """A row of `cases.cases` as the repository returns it (`SELECT *`); the sweep reads fewer columns."""

    id: uuid.UUID
    number: str
    state: str
    kind: str
    category: str | None
    title: str | None
    description: str | None
    area_code: str
    area_path: list[str]
    tier: str | None
    level: str | None
    handling: list[str]
    reporter_id: str | None
    parties: list[dict[str, Any]]
    people_involved: int | None
    amount_cny: Decimal | None
    flags: list[str]
    location: dict[str, Any] | None
    attachments: list[str]
    occurred_at: datetime | None
    grade: dict[str, Any] | None
    initial_tier: str | None
    inform_county: bool
    responsible_unit: str | None
    responsible_person: str | None
    resolution: dict[str, Any] | None
    reply_text: str | None
    deferral: dict[str, Any] | None
    satisfaction: str | None
    merged_into: uuid.UUID | None
    channel: str
    external_ref: str | None
    registered_by: str | None
    suspended_at: datetime | None
    closed_at: datetime | None
    created_at: datetime
    updated_at: datetime
