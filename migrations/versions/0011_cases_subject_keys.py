"""cases: every keyed hash a subject is known by (ID number and phone), so reports match by either;
who closed a notice and when

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "subject_keys",
        sa.Column("key_hash", sa.Text(), nullable=False),
        sa.Column("subject_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.PrimaryKeyConstraint("key_hash"),
        schema="cases",
    )
    op.create_index("ix_subject_keys_subject_id", "subject_keys", ["subject_id"], unique=False, schema="cases")
    op.execute("INSERT INTO cases.subject_keys (key_hash, subject_id) SELECT key_hash, id FROM cases.subjects")
    op.add_column("notices", sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True), schema="cases")
    op.add_column("notices", sa.Column("closed_by", sa.Text(), nullable=True), schema="cases")


def downgrade() -> None:
    op.drop_column("notices", "closed_by", schema="cases")
    op.drop_column("notices", "closed_at", schema="cases")
    op.drop_index("ix_subject_keys_subject_id", table_name="subject_keys", schema="cases")
    op.drop_table("subject_keys", schema="cases")
