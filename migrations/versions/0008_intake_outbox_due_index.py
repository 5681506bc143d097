"""intake: outbox index for the relay's claim in id order

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_outbox_due",
        "outbox",
        ["destination", "id"],
        unique=False,
        schema="intake",
        postgresql_where=sa.text("delivered_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_outbox_due", table_name="outbox", schema="intake", postgresql_where=sa.text("delivered_at IS NULL")
    )
