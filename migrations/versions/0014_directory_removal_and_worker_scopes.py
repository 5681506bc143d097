"""org changes reach phones: retired areas and departments in cases (active flag), the grid workers'
scopes in intake (to tell whose reference data a directory change touches)

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("areas", sa.Column("active", sa.Boolean(), nullable=False, server_default="true"), schema="cases")
    op.add_column(
        "departments", sa.Column("active", sa.Boolean(), nullable=False, server_default="true"), schema="cases"
    )
    op.create_table(
        "workers",
        sa.Column("worker_id", sa.Text(), nullable=False),
        sa.Column("areas", sa.ARRAY(sa.Text()), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("worker_id", name=op.f("pk_workers")),
        schema="intake",
    )


def downgrade() -> None:
    op.drop_table("workers", schema="intake")
    op.drop_column("departments", "active", schema="cases")
    op.drop_column("areas", "active", schema="cases")
