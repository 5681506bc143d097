"""cases keeps an audit log (who revealed, exported or downloaded personal data; at least six months)
and indexes what the retention ticks delete by (inbox, idempotency keys, refresh tokens), and
the breached deadlines still owed that /metrics counts

Revision ID: 0018
Revises: 0017
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0018"
down_revision = "0017"
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
        schema="cases",
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"], schema="cases")
    op.create_index("ix_inbox_processed_at", "inbox", ["processed_at"], schema="cases")
    op.create_index("ix_idempotency_keys_created_at", "idempotency_keys", ["created_at"], schema="cases")
    op.create_index("ix_refresh_tokens_expires_at", "refresh_tokens", ["expires_at"], schema="cases")
    op.create_index(
        "ix_deadlines_breached_owed",
        "deadlines",
        ["due_at"],
        schema="cases",
        postgresql_where=sa.text("state = 'breached' AND met_at IS NULL AND cancel_reason IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_deadlines_breached_owed", "deadlines", schema="cases")
    op.drop_index("ix_refresh_tokens_expires_at", "refresh_tokens", schema="cases")
    op.drop_index("ix_idempotency_keys_created_at", "idempotency_keys", schema="cases")
    op.drop_index("ix_inbox_processed_at", "inbox", schema="cases")
    op.drop_table("audit_log", schema="cases")
