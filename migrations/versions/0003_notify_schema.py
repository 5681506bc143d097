"""notify schema

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 19:35:22.941206
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE SCHEMA IF NOT EXISTS notify")


def downgrade() -> None:
    op.execute("DROP SCHEMA IF EXISTS notify CASCADE")
