"""cases: grading, whistles, deadlines, notices, subjects

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 19:53:51.970884
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "calendar_overrides",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("workday", sa.Boolean(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_calendar_overrides")),
        schema="cases",
    )
    op.create_table(
        "deadlines",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("case_id", sa.UUID(), nullable=False),
        sa.Column("whistle_id", sa.UUID(), nullable=True),
        sa.Column("department_code", sa.Text(), nullable=True),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("calendar", sa.Text(), nullable=False),
        sa.Column("limit_seconds", sa.Double(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("provisional", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("next_step", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_fire_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paused_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("extended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("extension", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("met_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("met_by", sa.Text(), nullable=True),
        sa.Column("breached_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancel_reason", sa.Text(), nullable=True),
        sa.Column("repeat_of", sa.UUID(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deadlines")),
        schema="cases",
    )
    op.create_index(op.f("ix_cases_deadlines_case_id"), "deadlines", ["case_id"], unique=False, schema="cases")
    op.create_index(
        "ix_deadlines_due_work",
        "deadlines",
        ["next_fire_at"],
        unique=False,
        schema="cases",
        postgresql_where=sa.text("next_fire_at IS NOT NULL"),
    )
    op.create_index(
        "ix_deadlines_pending_due",
        "deadlines",
        ["due_at"],
        unique=False,
        schema="cases",
        postgresql_where=sa.text("state = 'pending'"),
    )
    op.create_table(
        "grades",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.UUID(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("level", sa.Text(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("reasons", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("tier", sa.Text(), nullable=False),
        sa.Column("by", sa.Text(), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grades")),
        schema="cases",
    )
    op.create_index(op.f("ix_cases_grades_case_id"), "grades", ["case_id"], unique=False, schema="cases")
    op.create_table(
        "idempotency_keys",
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("request_hash", sa.Text(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("response", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("actor", "key", name=op.f("pk_idempotency_keys")),
        schema="cases",
    )
    op.create_table(
        "notice_counters",
        sa.Column("area_code", sa.Text(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("area_code", "year", "kind", name=op.f("pk_notice_counters")),
        schema="cases",
    )
    op.create_table(
        "notices",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("number", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("case_id", sa.UUID(), nullable=True),
        sa.Column("deadline_id", sa.UUID(), nullable=True),
        sa.Column("area_code", sa.Text(), nullable=False),
        sa.Column("unit", sa.Text(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("respond_by", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_by", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notices")),
        sa.UniqueConstraint("number", name=op.f("uq_notices_number")),
        schema="cases",
    )
    op.create_index(op.f("ix_cases_notices_case_id"), "notices", ["case_id"], unique=False, schema="cases")
    op.create_table(
        "subject_cases",
        sa.Column("subject_id", sa.UUID(), nullable=False),
        sa.Column("case_id", sa.UUID(), nullable=False),
        sa.Column("role", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("subject_id", "case_id", name=op.f("pk_subject_cases")),
        schema="cases",
    )
    op.create_index(op.f("ix_cases_subject_cases_case_id"), "subject_cases", ["case_id"], unique=False, schema="cases")
    op.create_table(
        "subjects",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("key_hash", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), server_default="person", nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("area_code", sa.Text(), nullable=True),
        sa.Column("risk", sa.Text(), server_default="safe", nullable=False),
        sa.Column("case_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("open_cases", sa.Integer(), server_default="0", nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subjects")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_subjects_key_hash")),
        schema="cases",
    )
    op.create_table(
        "tasks",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("case_id", sa.UUID(), nullable=False),
        sa.Column("worker_id", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tasks")),
        schema="cases",
    )
    op.create_index(op.f("ix_cases_tasks_case_id"), "tasks", ["case_id"], unique=False, schema="cases")
    op.create_table(
        "whistles",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("case_id", sa.UUID(), nullable=False),
        sa.Column("department_code", sa.Text(), nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("return_reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("returned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_whistles")),
        schema="cases",
    )
    op.create_index(op.f("ix_cases_whistles_case_id"), "whistles", ["case_id"], unique=False, schema="cases")
    op.create_index(
        "ix_whistles_department_state", "whistles", ["department_code", "state"], unique=False, schema="cases"
    )
    op.add_column("cases", sa.Column("grade", postgresql.JSONB(astext_type=sa.Text()), nullable=True), schema="cases")
    op.add_column("cases", sa.Column("initial_tier", sa.Text(), nullable=True), schema="cases")
    op.add_column(
        "cases", sa.Column("inform_county", sa.Boolean(), server_default="false", nullable=False), schema="cases"
    )
    op.add_column("cases", sa.Column("responsible_unit", sa.Text(), nullable=True), schema="cases")
    op.add_column("cases", sa.Column("responsible_person", sa.Text(), nullable=True), schema="cases")
    op.add_column(
        "cases", sa.Column("resolution", postgresql.JSONB(astext_type=sa.Text()), nullable=True), schema="cases"
    )
    op.add_column("cases", sa.Column("reply_text", sa.Text(), nullable=True), schema="cases")
    op.add_column("cases", sa.Column("satisfaction", sa.Text(), nullable=True), schema="cases")
    op.add_column("cases", sa.Column("merged_into", sa.UUID(), nullable=True), schema="cases")
    op.add_column("cases", sa.Column("suspended_at", sa.DateTime(timezone=True), nullable=True), schema="cases")
    op.add_column("cases", sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True), schema="cases")


def downgrade() -> None:
    op.drop_column("cases", "closed_at", schema="cases")
    op.drop_column("cases", "suspended_at", schema="cases")
    op.drop_column("cases", "merged_into", schema="cases")
    op.drop_column("cases", "satisfaction", schema="cases")
    op.drop_column("cases", "reply_text", schema="cases")
    op.drop_column("cases", "resolution", schema="cases")
    op.drop_column("cases", "responsible_person", schema="cases")
    op.drop_column("cases", "responsible_unit", schema="cases")
    op.drop_column("cases", "inform_county", schema="cases")
    op.drop_column("cases", "initial_tier", schema="cases")
    op.drop_column("cases", "grade", schema="cases")
    op.drop_index("ix_whistles_department_state", table_name="whistles", schema="cases")
    op.drop_index(op.f("ix_cases_whistles_case_id"), table_name="whistles", schema="cases")
    op.drop_table("whistles", schema="cases")
    op.drop_index(op.f("ix_cases_tasks_case_id"), table_name="tasks", schema="cases")
    op.drop_table("tasks", schema="cases")
    op.drop_table("subjects", schema="cases")
    op.drop_index(op.f("ix_cases_subject_cases_case_id"), table_name="subject_cases", schema="cases")
    op.drop_table("subject_cases", schema="cases")
    op.drop_index(op.f("ix_cases_notices_case_id"), table_name="notices", schema="cases")
    op.drop_table("notices", schema="cases")
    op.drop_table("notice_counters", schema="cases")
    op.drop_table("idempotency_keys", schema="cases")
    op.drop_index(op.f("ix_cases_grades_case_id"), table_name="grades", schema="cases")
    op.drop_table("grades", schema="cases")
    op.drop_index(
        "ix_deadlines_pending_due",
        table_name="deadlines",
        schema="cases",
        postgresql_where=sa.text("state = 'pending'"),
    )
    op.drop_index(
        "ix_deadlines_due_work",
        table_name="deadlines",
        schema="cases",
        postgresql_where=sa.text("next_fire_at IS NOT NULL"),
    )
    op.drop_index(op.f("ix_cases_deadlines_case_id"), table_name="deadlines", schema="cases")
    op.drop_table("deadlines", schema="cases")
    op.drop_table("calendar_overrides", schema="cases")
