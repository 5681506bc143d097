"""intake keeps retired areas and departments (active flag) instead of deleting them, so the photos
of old reports on a retired grid stay in their township's and county's scope

Revision ID: 0016
Revises: 0015
"""
from alembic import op
import sqlalchemy as sa

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('areas', sa.Column('active', sa.Boolean(), nullable=False, server_default=sa.true()), schema='intake')
    op.add_column('departments', sa.Column('active', sa.Boolean(), nullable=False, server_default=sa.true()), schema='intake')


def downgrade() -> None:
    # Before 0015 intake's copy held only live rows: retired ones are dropped with the flag.
    op.execute("DELETE FROM intake.departments WHERE NOT active")
    op.execute("DELETE FROM intake.areas WHERE NOT active")
    op.drop_column('departments', 'active', schema='intake')
    op.drop_column('areas', 'active', schema='intake')
