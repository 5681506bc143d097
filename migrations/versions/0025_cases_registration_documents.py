"""cases: the centre's desk (来访·来电·来信·12345·网上) — a case's external reference (the 12345 work-order
number) and who registered it; the documents attached to a case (调解协议书, 司法确认书 …); party search

Revision ID: 0025
Revises: 0024
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None

S = "cases"


def upgrade() -> None:
    op.add_column("cases", sa.Column("external_ref", sa.Text()), schema=S)  # the 12345 work-order number
    op.add_column("cases", sa.Column("registered_by", sa.Text()), schema=S)  # role:username of the desk
    op.create_index(
        "ix_cases_external_ref",
        "cases",
        ["external_ref"],
        schema=S,
        postgresql_where=sa.text("external_ref IS NOT NULL"),
    )
    op.create_table(
        "case_documents",
        sa.Column("id", postgresql.UUID(as_uuid=True), primary_key=True),
        sa.Column("case_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("sha256", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("filetype", sa.Text(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("filename", sa.Text()),
        sa.Column("attached_by", sa.Text(), nullable=False),
        sa.Column("attached_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("case_id", "sha256", name="uq_case_documents_case_sha256"),
        schema=S,
    )
    op.create_index("ix_case_documents_case", "case_documents", ["case_id", "attached_at"], schema=S)
    # party search: the cases of one subject (subject_cases is keyed (subject_id, case_id) already)


def downgrade() -> None:
    op.drop_index("ix_case_documents_case", table_name="case_documents", schema=S)
    op.drop_table("case_documents", schema=S)
    op.drop_index("ix_cases_external_ref", table_name="cases", schema=S)
    op.drop_column("cases", "registered_by", schema=S)
    op.drop_column("cases", "external_ref", schema=S)
