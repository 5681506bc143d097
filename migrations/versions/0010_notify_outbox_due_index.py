"""notify: outbox index for the relay's claim in id order

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_outbox_due",
        "outbox",
        ["destination", "id"],
        unique=False,
        schema="notify",
        postgresql_where=sa.text("delivered_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_outbox_due", table_name="outbox", schema="notify", postgresql_where=sa.text("delivered_at IS NULL")
    )
