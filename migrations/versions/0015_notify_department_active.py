"""notify's directory copy keeps retired departments (active = false): their webhooks are skipped and
the rules no longer reach them

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "departments", sa.Column("active", sa.Boolean(), nullable=False, server_default="true"), schema="notify"
    )


def downgrade() -> None:
    op.drop_column("departments", "active", schema="notify")
