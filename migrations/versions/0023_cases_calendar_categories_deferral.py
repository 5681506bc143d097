"""cases: imported calendar years, an index of the clocks timed on an estimate, the dispute categories
(seeded with DOMAIN.md's list), a case's deferral (短期内难以解决: reason and expected date), and the
next scheduled visit of a high-risk household

Revision ID: 0023
Revises: 0022
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

# DOMAIN.md "What comes in": the default dispute categories, in this order.
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
    op.create_table(
        "calendar_years",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("year", name=op.f("pk_calendar_years")),
        schema="cases",
    )
    op.create_index(
        "ix_deadlines_provisional_pending",
        "deadlines",
        ["case_id"],
        schema="cases",
        postgresql_where=sa.text("state = 'pending' AND provisional"),
    )
    categories = op.create_table(
        "categories",
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_categories")),
        schema="cases",
    )
    now = datetime.now(UTC)
    op.bulk_insert(
        categories,
        [
            {"code": c, "name": n, "position": i, "active": True, "updated_at": now}
            for i, (c, n) in enumerate(CATEGORIES)
        ],
    )
    op.add_column("cases", sa.Column("deferral", postgresql.JSONB(), nullable=True), schema="cases")
    op.add_column("subjects", sa.Column("next_visit_at", sa.DateTime(timezone=True), nullable=True), schema="cases")
    op.create_index(
        "ix_subjects_next_visit",
        "subjects",
        ["next_visit_at"],
        schema="cases",
        postgresql_where=sa.text("next_visit_at IS NOT NULL"),
    )
    # the high-risk subjects of today get their first scheduled visit (the default policy's `visits`)
    op.execute("UPDATE cases.subjects SET next_visit_at = now() WHERE risk = 'high'")


def downgrade() -> None:
    op.drop_index("ix_subjects_next_visit", table_name="subjects", schema="cases")
    op.drop_column("subjects", "next_visit_at", schema="cases")
    op.drop_column("cases", "deferral", schema="cases")
    op.drop_table("categories", schema="cases")
    op.drop_index("ix_deadlines_provisional_pending", table_name="deadlines", schema="cases")
    op.drop_table("calendar_years", schema="cases")
