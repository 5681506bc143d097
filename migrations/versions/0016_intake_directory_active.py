"""intake keeps retired areas and departments (active flag) instead of deleting them, so the photos
of old reports on a retired grid stay in their township's and county's scope

Revision ID: 0016
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("areas", sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()), schema="intake")
    op.add_column(
        "departments", sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()), schema="intake"
    )


def downgrade() -> None:
    # Retired rows are kept: cases no longer sends them, so a later upgrade could not get them back, and the
    # photos of old reports on a retired grid need its row to stay in their township's scope. The code
    # before 0016 then sees them as live until the next directory change removes them.
    op.drop_column("departments", "active", schema="intake")
    op.drop_column("areas", "active", schema="intake")
