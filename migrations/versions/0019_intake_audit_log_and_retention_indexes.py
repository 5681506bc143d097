"""intake keeps an audit log (who revealed, exported or downloaded personal data; at least six months)
and indexes what the retention ticks delete by (the inbox)

Revision ID: 0019
Revises: 0018
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("object_type", sa.Text(), nullable=False),
        sa.Column("object_id", sa.Text()),
        sa.Column("reason", sa.Text()),
        sa.Column("detail", postgresql.JSONB(), nullable=False, server_default="{}"),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
        schema="intake",
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"], schema="intake")
    op.create_index("ix_inbox_processed_at", "inbox", ["processed_at"], schema="intake")


def downgrade() -> None:
    op.drop_index("ix_inbox_processed_at", "inbox", schema="intake")
    op.drop_table("audit_log", schema="intake")
