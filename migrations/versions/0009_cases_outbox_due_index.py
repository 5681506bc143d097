"""cases: outbox index for the relay's claim in id order

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_outbox_due",
        "outbox",
        ["destination", "id"],
        unique=False,
        schema="cases",
        postgresql_where=sa.text("delivered_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_outbox_due", table_name="outbox", schema="cases", postgresql_where=sa.text("delivered_at IS NULL")
    )
