"""intake: an index of a worker's uploads by creation time, which the daily upload quota counts

Revision ID: 0021
Revises: 0020
"""

from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_uploads_worker_created", "uploads", ["worker_id", "created_at"], schema="intake")


def downgrade() -> None:
    op.drop_index("ix_uploads_worker_created", table_name="uploads", schema="intake")
