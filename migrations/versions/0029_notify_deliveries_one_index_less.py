"""notify: drop the deliveries index on notification_id alone

`uq_deliveries_notification_channel` (notification_id, channel) already serves every lookup by
notification (its leading column), so `ix_notify_deliveries_notification_id` only cost a second entry
to maintain for each of the several deliveries a notification makes.

Revision ID: 0029
Revises: 0028
"""

from alembic import op

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_notify_deliveries_notification_id", table_name="deliveries", schema="notify")


def downgrade() -> None:
    op.create_index(
        "ix_notify_deliveries_notification_id", "deliveries", ["notification_id"], unique=False, schema="notify"
    )
