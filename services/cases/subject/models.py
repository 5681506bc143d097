"""Subjects (人员/户): persons matched by the keyed hash of their ID number or phone, with a risk level."""

from sqlalchemy import Column, DateTime, Index, Integer, PrimaryKeyConstraint, Table, Text, text
from sqlalchemy.dialects.postgresql import UUID

from services.cases.db import metadata

subjects = Table(
    "subjects",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("key_hash", Text, nullable=False, unique=True),  # id_number hash, else phone hash
    Column("kind", Text, nullable=False, server_default="person"),
    Column("name", Text),
    Column("area_code", Text),
    Column("risk", Text, nullable=False, server_default="safe"),  # high | medium | low | safe
    Column("case_count", Integer, nullable=False, server_default="0"),
    Column("open_cases", Integer, nullable=False, server_default="0"),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    # the next scheduled household visit (定期走访; the risk policy's `visits`), None when none is due
    Column("next_visit_at", DateTime(timezone=True)),
    Index("ix_subjects_next_visit", "next_visit_at", postgresql_where=text("next_visit_at IS NOT NULL")),
    postgresql_with={"fillfactor": 80},  # room for the counts of each new case as heap-only updates (0031)
)

# Every keyed hash a subject is known by: the ID number's and the phone's, so a report carrying only
# one of them still finds the person.
subject_keys = Table(
    "subject_keys",
    metadata,
    Column("key_hash", Text, primary_key=True),
    Column("subject_id", UUID(as_uuid=True), nullable=False, index=True),
)

subject_cases = Table(
    "subject_cases",
    metadata,
    Column("subject_id", UUID(as_uuid=True), nullable=False),
    Column("case_id", UUID(as_uuid=True), nullable=False, index=True),
    Column("role", Text),
    PrimaryKeyConstraint("subject_id", "case_id"),
)
