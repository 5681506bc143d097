from sqlalchemy import ARRAY, BigInteger, Column, DateTime, Index, PrimaryKeyConstraint, Table, Text
from sqlalchemy.dialects.postgresql import UUID

from services.intake.db import metadata

attachments = Table(
    "attachments",
    metadata,
    Column("sha256", Text, primary_key=True),
    Column("size", BigInteger, nullable=False),
    Column("filetype", Text, nullable=False),
    Column("filename", Text),
    Column("uploaded_by", Text, nullable=False),
    Column("stored_at", DateTime(timezone=True), nullable=False),
)

uploads = Table(
    "uploads",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("worker_id", Text, nullable=False),
    Column("length", BigInteger, nullable=False),
    Column("offset", BigInteger, nullable=False, server_default="0"),
    Column("sha256", Text, nullable=False),
    Column("filetype", Text, nullable=False),
    Column("filename", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("completed_at", DateTime(timezone=True)),
    Column("patch_lease", UUID(as_uuid=True)),  # the PATCH streaming into this upload right now
    Column("patching_until", DateTime(timezone=True)),
    Index("ix_uploads_worker_created", "worker_id", "created_at"),  # a worker's uploads of the day (quota)
)

# A stored file that cases attached to a case as a document (POST /v1/cases/{id}/documents): those who
# may see the case may fetch it — centres and leaders by the case's area path, departments asked of cases.
attachment_grants = Table(
    "attachment_grants",
    metadata,
    Column("sha256", Text, nullable=False),
    Column("case_id", UUID(as_uuid=True), nullable=False),
    Column("area_path", ARRAY(Text), nullable=False),
    Column("granted_by", Text, nullable=False),
    Column("granted_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("sha256", "case_id"),
)
