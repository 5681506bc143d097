"""intake: each device's push rate bucket (tokens left and when), for the per-device 429

Revision ID: 0022
Revises: 0021
"""

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("devices", sa.Column("push_tokens", sa.Float(), nullable=True), schema="intake")
    op.add_column("devices", sa.Column("push_tokens_at", sa.DateTime(timezone=True), nullable=True), schema="intake")


def downgrade() -> None:
    op.drop_column("devices", "push_tokens_at", schema="intake")
    op.drop_column("devices", "push_tokens", schema="intake")
