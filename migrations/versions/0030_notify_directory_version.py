"""notify: a version of the directory copy, raised by every document applied

Rules ask the directory the same questions for every event (the area above a grid, a centre's dispatchers,
a department); each batch used to ask them afresh. With one version row, raised in the transaction that
applies a directory.changed document, a notify process keeps its answers while the version read at the
start of a batch is the same, in any number of processes.

Revision ID: 0030
Revises: 0029
"""

import sqlalchemy as sa
from alembic import op

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "directory_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("id", name="pk_directory_version"),
        schema="notify",
    )
    op.execute("INSERT INTO notify.directory_version (id, version, changed_at) VALUES (1, 0, NULL)")


def downgrade() -> None:
    op.drop_table("directory_version", schema="notify")
