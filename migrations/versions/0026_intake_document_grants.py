"""intake: the grants cases gives for a stored file attached to a case as a document — who may fetch it
follows the case (its area path; departments asked of cases by case id)

Revision ID: 0026
Revises: 0025
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None

S = "intake"


def upgrade() -> None:
    op.create_table(
        "attachment_grants",
        sa.Column("sha256", sa.Text(), nullable=False),
        sa.Column("case_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("area_path", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("granted_by", sa.Text(), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sha256", "case_id"),
        schema=S,
    )


def downgrade() -> None:
    op.drop_table("attachment_grants", schema=S)
