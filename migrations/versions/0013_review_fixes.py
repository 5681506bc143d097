"""review fixes: upload PATCH lease (intake), refresh token successor (cases), skipped outbox events
(every schema)

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

OUTBOX_SCHEMAS = ("intake", "cases", "notify")


def upgrade() -> None:
    op.add_column("uploads", sa.Column("patch_lease", sa.UUID(), nullable=True), schema="intake")
    op.add_column("uploads", sa.Column("patching_until", sa.DateTime(timezone=True), nullable=True), schema="intake")
    op.add_column("refresh_tokens", sa.Column("replaced_by", sa.UUID(), nullable=True), schema="cases")
    for schema in OUTBOX_SCHEMAS:
        op.add_column("outbox", sa.Column("skipped_at", sa.DateTime(timezone=True), nullable=True), schema=schema)
        op.add_column("outbox", sa.Column("skip_reason", sa.Text(), nullable=True), schema=schema)
        op.add_column("outbox", sa.Column("skipped_by", sa.Text(), nullable=True), schema=schema)


def downgrade() -> None:
    for schema in OUTBOX_SCHEMAS:
        op.drop_column("outbox", "skipped_by", schema=schema)
        op.drop_column("outbox", "skip_reason", schema=schema)
        op.drop_column("outbox", "skipped_at", schema=schema)
    op.drop_column("refresh_tokens", "replaced_by", schema="cases")
    op.drop_column("uploads", "patching_until", schema="intake")
    op.drop_column("uploads", "patch_lease", schema="intake")
