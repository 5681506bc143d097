"""notify: deliveries, endpoints, directory

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22 20:07:07.410200
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "areas",
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("level", sa.Text(), nullable=False),
        sa.Column("path", sa.ARRAY(sa.Text()), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_areas")),
        schema="notify",
    )
    op.create_table(
        "deliveries",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("notification_id", sa.UUID(), nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("recipient", sa.Text(), nullable=False),
        sa.Column("target", sa.Text(), nullable=True),
        sa.Column("message_id", sa.Text(), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("event_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliveries")),
        sa.UniqueConstraint("notification_id", "channel", name="uq_deliveries_notification_channel"),
        schema="notify",
    )
    op.create_index(
        "ix_deliveries_due",
        "deliveries",
        ["next_attempt_at"],
        unique=False,
        schema="notify",
        postgresql_where=sa.text("state IN ('pending', 'failed')"),
    )
    op.create_index("ix_deliveries_state", "deliveries", ["state", "created_at"], unique=False, schema="notify")
    op.create_index(
        op.f("ix_notify_deliveries_notification_id"), "deliveries", ["notification_id"], unique=False, schema="notify"
    )
    op.create_table(
        "departments",
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("area_code", sa.Text(), nullable=True),
        sa.Column("head", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_departments")),
        schema="notify",
    )
    op.create_table(
        "endpoints",
        sa.Column("department_code", sa.Text(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("secrets", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("state", sa.Text(), server_default="active", nullable=False),
        sa.Column("disabled_reason", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("department_code", name=op.f("pk_endpoints")),
        schema="notify",
    )
    op.create_table(
        "job_runs",
        sa.Column("job", sa.Text(), nullable=False),
        sa.Column("period", sa.Text(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("job", "period", name=op.f("pk_job_runs")),
        schema="notify",
    )
    op.create_table(
        "notifications",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("event_id", sa.UUID(), nullable=False),
        sa.Column("event_type", sa.Text(), nullable=False),
        sa.Column("rule", sa.Text(), nullable=False),
        sa.Column("recipient", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("case_id", sa.Text(), nullable=True),
        sa.Column("major", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
        sa.UniqueConstraint("event_id", "rule", "recipient", name="uq_notifications_event_rule_recipient"),
        schema="notify",
    )
    op.create_index(
        "ix_notifications_recipient_created",
        "notifications",
        ["recipient", "created_at"],
        unique=False,
        schema="notify",
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("event_id", sa.UUID(), nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("aggregate_id", sa.Text(), nullable=False),
        sa.Column("destination", sa.Text(), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("failures", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("parked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("event_id", "destination", name="uq_outbox_event_destination"),
        schema="notify",
    )
    op.create_index(
        "ix_outbox_pending",
        "outbox",
        ["destination", "aggregate_id", "id"],
        unique=False,
        schema="notify",
        postgresql_where=sa.text("delivered_at IS NULL"),
    )
    op.create_table(
        "sms_counters",
        sa.Column("phone_hash", sa.Text(), nullable=False),
        sa.Column("day", sa.Text(), nullable=False),
        sa.Column("sent", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("phone_hash", "day", name=op.f("pk_sms_counters")),
        schema="notify",
    )
    op.create_table(
        "users",
        sa.Column("user_id", sa.Text(), nullable=False),
        sa.Column("username", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("department_code", sa.Text(), nullable=True),
        sa.Column("areas", sa.ARRAY(sa.Text()), nullable=False),
        sa.Column("phone_enc", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
        schema="notify",
    )


def downgrade() -> None:
    op.drop_table("users", schema="notify")
    op.drop_table("sms_counters", schema="notify")
    op.drop_index(
        "ix_outbox_pending", table_name="outbox", schema="notify", postgresql_where=sa.text("delivered_at IS NULL")
    )
    op.drop_table("outbox", schema="notify")
    op.drop_index("ix_notifications_recipient_created", table_name="notifications", schema="notify")
    op.drop_table("notifications", schema="notify")
    op.drop_table("job_runs", schema="notify")
    op.drop_table("endpoints", schema="notify")
    op.drop_table("departments", schema="notify")
    op.drop_index(op.f("ix_notify_deliveries_notification_id"), table_name="deliveries", schema="notify")
    op.drop_index("ix_deliveries_state", table_name="deliveries", schema="notify")
    op.drop_index(
        "ix_deliveries_due",
        table_name="deliveries",
        schema="notify",
        postgresql_where=sa.text("state IN ('pending', 'failed')"),
    )
    op.drop_table("deliveries", schema="notify")
    op.drop_table("areas", schema="notify")
