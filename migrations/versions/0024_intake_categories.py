"""intake: the copy of the dispute categories that cases publishes (directory.changed), seeded with
DOMAIN.md's list so that phones are checked against it before the first directory arrives

Revision ID: 0024
Revises: 0023
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

CATEGORIES = [
    ("family", "婚姻家庭"),
    ("neighbour", "邻里"),
    ("land", "土地山林"),
    ("housing", "房屋宅基地"),
    ("debt", "债务"),
    ("wages", "劳资欠薪"),
    ("property_mgmt", "物业"),
    ("traffic", "交通事故"),
    ("medical", "医疗"),
    ("consumer", "消费"),
    ("expropriation", "征地拆迁"),
    ("environment", "环境"),
    ("other", "其他"),
]


def upgrade() -> None:
    categories = op.create_table(
        "categories",
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_categories")),
        schema="intake",
    )
    now = datetime.now(UTC)
    op.bulk_insert(
        categories,
        [
            {"code": c, "name": n, "position": i, "active": True, "updated_at": now}
            for i, (c, n) in enumerate(CATEGORIES)
        ],
    )


def downgrade() -> None:
    op.drop_table("categories", schema="intake")
