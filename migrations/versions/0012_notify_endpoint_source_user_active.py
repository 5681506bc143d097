"""notify: who set an endpoint (operator or directory), and users the directory no longer lists

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # existing endpoints are taken as the operator's: an org import never overwrites a setting it cannot place
    op.add_column(
        "endpoints", sa.Column("source", sa.Text(), server_default="operator", nullable=False), schema="notify"
    )
    op.add_column("users", sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False), schema="notify")


def downgrade() -> None:
    op.drop_column("users", "active", schema="notify")
    op.drop_column("endpoints", "source", schema="notify")
