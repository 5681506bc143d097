"""The documents of a case: a file stored by intake (by its sha256), what it is and who attached it."""

from sqlalchemy import BigInteger, Column, DateTime, Index, Table, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import UUID

from services.cases.db import metadata

case_documents = Table(
    "case_documents",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("case_id", UUID(as_uuid=True), nullable=False),
    Column("sha256", Text, nullable=False),
    Column("kind", Text, nullable=False),  # agreement | judicial_confirmation | record | photo | other
    Column("title", Text, nullable=False),
    Column("filetype", Text, nullable=False),  # as intake stored it
    Column("size", BigInteger, nullable=False),
    Column("filename", Text),
    Column("attached_by", Text, nullable=False),  # role:username
    Column("attached_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("case_id", "sha256", name="uq_case_documents_case_sha256"),
    Index("ix_case_documents_case", "case_id", "attached_at"),
)
