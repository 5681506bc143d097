"""cases: the handling centre of a case (承办中心, back-filled), a notice's response clock and its issuer

Revision ID: 0027
Revises: 0026
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None

# The centre at a level rank on a path (0 county, 1 township, 2 village): the deepest centre at or above
# that rank with an active dispatcher, else the deepest area at or above it (nobody staffed there).
_PICK = """
CREATE FUNCTION pg_temp.fq_handling_pick(path text[], want int) RETURNS text LANGUAGE sql STABLE AS $$
  SELECT n.code FROM (
    SELECT p.code, p.ord,
           EXISTS (SELECT 1 FROM cases.users u
                   WHERE u.role = 'dispatcher' AND u.active AND u.areas @> ARRAY[p.code]) AS staffed
    FROM unnest(path) WITH ORDINALITY AS p(code, ord) JOIN cases.areas a ON a.code = p.code
    WHERE a.level IN ('county', 'township', 'village')
      AND (CASE a.level WHEN 'county' THEN 0 WHEN 'township' THEN 1 ELSE 2 END) <= want
  ) n ORDER BY n.staffed DESC, n.ord DESC LIMIT 1
$$
"""

# Existing cases: their tier's centre; a petition_backlog case at the county (the default routing) is
# handled jointly with the township's centre.
_BACKFILL = """
UPDATE cases.cases c SET handling = CASE WHEN h.second IS NULL OR h.second = h.first
                                         THEN array_remove(ARRAY[h.first], NULL)
                                         ELSE ARRAY[h.first, h.second] END
FROM (
  SELECT id,
         pg_temp.fq_handling_pick(area_path,
           CASE COALESCE(tier, 'township') WHEN 'county' THEN 0 WHEN 'village' THEN 2 ELSE 1 END) AS first,
         CASE WHEN level = 'petition_backlog' AND tier = 'county' THEN pg_temp.fq_handling_pick(area_path, 1) END
           AS second
  FROM cases.cases
) h
WHERE h.id = c.id
"""


def upgrade() -> None:
    op.add_column(
        "cases",
        sa.Column("handling", postgresql.ARRAY(sa.Text()), server_default="{}", nullable=False),
        schema="cases",
    )
    op.create_index("ix_cases_handling", "cases", ["handling"], unique=False, schema="cases", postgresql_using="gin")
    op.execute(_PICK)
    op.execute(_BACKFILL)
    op.execute("DROP FUNCTION pg_temp.fq_handling_pick(text[], int)")
    # a notice's response clock (kind notice_response) names its notice
    op.add_column("deadlines", sa.Column("notice_id", sa.UUID(), nullable=True), schema="cases")
    op.create_index(
        "ix_deadlines_notice",
        "deadlines",
        ["notice_id"],
        unique=False,
        schema="cases",
        postgresql_where=sa.text("notice_id IS NOT NULL"),
    )
    # who issued a notice: the clock (the ladder) or a person (领导督办)
    op.add_column("notices", sa.Column("issued_by", sa.Text(), nullable=True), schema="cases")
    op.add_column("notices", sa.Column("reason", sa.Text(), nullable=True), schema="cases")


def downgrade() -> None:
    op.drop_column("notices", "reason", schema="cases")
    op.drop_column("notices", "issued_by", schema="cases")
    op.drop_index("ix_deadlines_notice", table_name="deadlines", schema="cases")
    op.drop_column("deadlines", "notice_id", schema="cases")
    op.drop_index("ix_cases_handling", table_name="cases", schema="cases")
    op.drop_column("cases", "handling", schema="cases")
