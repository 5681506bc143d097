"""notify indexes what the retention ticks delete by: the inbox's processed time and the notifications'
creation time

Revision ID: 0020
Revises: 0019
"""

from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_inbox_processed_at", "inbox", ["processed_at"], schema="notify")
    op.create_index("ix_notifications_created_at", "notifications", ["created_at"], schema="notify")


def downgrade() -> None:
    op.drop_index("ix_notifications_created_at", "notifications", schema="notify")
    op.drop_index("ix_inbox_processed_at", "inbox", schema="notify")
