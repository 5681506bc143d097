"""intake: tasks

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 19:54:02.057818
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tasks",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("worker_id", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("case_id", sa.UUID(), nullable=True),
        sa.Column("data", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tasks")),
        schema="intake",
    )
    op.create_index("ix_tasks_worker_state", "tasks", ["worker_id", "state"], unique=False, schema="intake")


def downgrade() -> None:
    op.drop_index("ix_tasks_worker_state", table_name="tasks", schema="intake")
    op.drop_table("tasks", schema="intake")
