"""cases schema

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 19:35:20.176852
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE SCHEMA IF NOT EXISTS cases")
    op.execute("CREATE SEQUENCE cases.case_number_seq")
    op.create_table(
        "areas",
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("level", sa.Text(), nullable=False),
        sa.Column("parent_code", sa.Text(), nullable=True),
        sa.Column("path", sa.ARRAY(sa.Text()), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_areas")),
        schema="cases",
    )
    op.create_index("ix_areas_path", "areas", ["path"], unique=False, schema="cases", postgresql_using="gin")
    op.create_table(
        "case_reports",
        sa.Column("report_id", sa.UUID(), nullable=False),
        sa.Column("report_no", sa.Text(), nullable=False),
        sa.Column("case_id", sa.UUID(), nullable=False),
        sa.Column("worker_id", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("report_id", name=op.f("pk_case_reports")),
        sa.UniqueConstraint("report_no", name=op.f("uq_case_reports_report_no")),
        schema="cases",
    )
    op.create_index(op.f("ix_cases_case_reports_case_id"), "case_reports", ["case_id"], unique=False, schema="cases")
    op.create_table(
        "cases",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("number", sa.Text(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("category", sa.Text(), nullable=True),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("area_code", sa.Text(), nullable=False),
        sa.Column("area_path", sa.ARRAY(sa.Text()), nullable=False),
        sa.Column("tier", sa.Text(), nullable=True),
        sa.Column("level", sa.Text(), nullable=True),
        sa.Column("reporter_id", sa.Text(), nullable=True),
        sa.Column("parties", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("people_involved", sa.Integer(), nullable=True),
        sa.Column("amount_cny", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("flags", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("location", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("attachments", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cases")),
        sa.UniqueConstraint("number", name=op.f("uq_cases_number")),
        schema="cases",
    )
    op.create_index("ix_cases_area_path", "cases", ["area_path"], unique=False, schema="cases", postgresql_using="gin")
    op.create_index("ix_cases_created", "cases", ["created_at", "id"], unique=False, schema="cases")
    op.create_table(
        "clients",
        sa.Column("client_id", sa.Text(), nullable=False),
        sa.Column("secret_hash", sa.Text(), nullable=False),
        sa.Column("department_code", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("client_id", name=op.f("pk_clients")),
        schema="cases",
    )
    op.create_table(
        "departments",
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=True),
        sa.Column("area_code", sa.Text(), nullable=False),
        sa.Column("webhook", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_departments")),
        schema="cases",
    )
    op.create_table(
        "devices",
        sa.Column("device_id", sa.Text(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=True),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("device_id", name=op.f("pk_devices")),
        schema="cases",
    )
    op.create_table(
        "inbox",
        sa.Column("event_id", sa.UUID(), nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_inbox")),
        schema="cases",
    )
    op.create_table(
        "login_failures",
        sa.Column("principal", sa.Text(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("principal", name=op.f("pk_login_failures")),
        schema="cases",
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
        schema="cases",
    )
    op.create_index(
        "ix_outbox_pending",
        "outbox",
        ["destination", "aggregate_id", "id"],
        unique=False,
        schema="cases",
        postgresql_where=sa.text("delivered_at IS NULL"),
    )
    op.create_table(
        "refresh_tokens",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("family", sa.UUID(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("device_id", sa.Text(), nullable=True),
        sa.Column("secret_hash", sa.Text(), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refresh_tokens")),
        schema="cases",
    )
    op.create_index(
        op.f("ix_cases_refresh_tokens_device_id"), "refresh_tokens", ["device_id"], unique=False, schema="cases"
    )
    op.create_index(op.f("ix_cases_refresh_tokens_family"), "refresh_tokens", ["family"], unique=False, schema="cases")
    op.create_table(
        "timeline",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.UUID(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("from_state", sa.Text(), nullable=True),
        sa.Column("to_state", sa.Text(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("data", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_timeline")),
        schema="cases",
    )
    op.create_index(op.f("ix_cases_timeline_case_id"), "timeline", ["case_id"], unique=False, schema="cases")
    op.create_table(
        "users",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("username", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("department_code", sa.Text(), nullable=True),
        sa.Column("areas", sa.ARRAY(sa.Text()), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=True),
        sa.Column("phone_enc", sa.Text(), nullable=True),
        sa.Column("phone_hash", sa.Text(), nullable=True),
        sa.Column("active", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
        schema="cases",
    )


def downgrade() -> None:
    op.drop_table("users", schema="cases")
    op.drop_index(op.f("ix_cases_timeline_case_id"), table_name="timeline", schema="cases")
    op.drop_table("timeline", schema="cases")
    op.drop_index(op.f("ix_cases_refresh_tokens_family"), table_name="refresh_tokens", schema="cases")
    op.drop_index(op.f("ix_cases_refresh_tokens_device_id"), table_name="refresh_tokens", schema="cases")
    op.drop_table("refresh_tokens", schema="cases")
    op.drop_index(
        "ix_outbox_pending", table_name="outbox", schema="cases", postgresql_where=sa.text("delivered_at IS NULL")
    )
    op.drop_table("outbox", schema="cases")
    op.drop_table("login_failures", schema="cases")
    op.drop_table("inbox", schema="cases")
    op.drop_table("devices", schema="cases")
    op.drop_table("departments", schema="cases")
    op.drop_table("clients", schema="cases")
    op.drop_index("ix_cases_created", table_name="cases", schema="cases")
    op.drop_index("ix_cases_area_path", table_name="cases", schema="cases", postgresql_using="gin")
    op.drop_table("cases", schema="cases")
    op.drop_index(op.f("ix_cases_case_reports_case_id"), table_name="case_reports", schema="cases")
    op.drop_table("case_reports", schema="cases")
    op.drop_index("ix_areas_path", table_name="areas", schema="cases", postgresql_using="gin")
    op.drop_table("areas", schema="cases")
    op.execute("DROP SEQUENCE IF EXISTS cases.case_number_seq")
    op.execute("DROP SCHEMA IF EXISTS cases CASCADE")
