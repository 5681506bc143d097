"""cases: the evaluation rollups fed by statement-level triggers through a delta log, and monthly rollups

The row triggers of 0017 ran a plpgsql function per changed row that built jsonb and called SQL functions
planned anew on every call, staged into six tables, and at commit upserted some fifty hot rollup rows (every
area above the case, every dimension) in the committing transaction: a case creation cost a quarter to two
thirds more with them. Now each INSERT or DELETE statement on cases, deadlines and revisits runs one
trigger whose single cached statement computes the signed deltas of all its rows from the transition tables
(REFERENCING NEW/OLD TABLE), adds them up per rollup key and appends them to `stats_deltas` in the same
transaction: one INSERT, no rollup row locked, nothing to wait for at commit, and a batch of N cases costs
one trigger call. An UPDATE runs the same statement per row, only for rows whose counted fields changed
(a row trigger's WHEN; most updates change none, and a statement trigger cannot filter so). Reads add the
deltas not yet folded to the rollups in the same statement (one snapshot), so figures are exact at every
moment; `stats_fold(batch)` (the cases tick `stats_fold`, any number of replicas: FOR UPDATE SKIP LOCKED)
moves committed deltas into the rollups, each rollup in key order and the rollups always in the same order
(no deadlock between two folds).

`stats_sla_months` and `stats_case_months` hold the same counters per calendar month, kept by the fold,
so a period of a year reads 12 month rows and the days of its ragged ends instead of 365 days.

Revision ID: 0028
Revises: 0027
"""

import importlib.util
from pathlib import Path
from types import ModuleType

import sqlalchemy as sa
from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None

S = "cases"
ROW_TRIGGERS = (
    ("stats_case", "cases"),
    ("stats_case_change", "cases"),
    ("stats_deadline", "deadlines"),
    ("stats_deadline_change", "deadlines"),
    ("stats_revisit", "revisits"),
)
ROW_FUNCTIONS = (
    "cases.stats_on_case()",
    "cases.stats_case_json(cases.cases, int)",
    "cases.stats_apply_case(jsonb, smallint)",
    "cases.stats_on_deadline()",
    "cases.stats_deadline_json(cases.deadlines, text[], int)",
    "cases.stats_apply_deadline(jsonb, smallint)",
    "cases.stats_on_revisit()",
)
OLD_STAGED = (
    "stats_staged_counts",
    "stats_staged_pending",
    "stats_staged_sla",
    "stats_staged_case_days",
    "stats_staged_mediator_months",
    "stats_staged_versions",
)

# --- what one statement's rows contribute, from its transition tables ----------------------------------

CASE_COLS = """cases.stats_slot({t}.id) AS slot, {t}.area_path, {t}.responsible_unit, {t}.state, {t}.level, {t}.tier,
  {t}.initial_tier, {t}.kind, {t}.category, {t}.channel, {t}.resolution->>'outcome' AS outcome,
  cases.stats_day({t}.created_at) AS received_day, cases.stats_day({t}.closed_at) AS closed_day, {t}.resolution"""
CASE_FIELDS = (
    "state",
    "level",
    "tier",
    "initial_tier",
    "kind",
    "category",
    "channel",
    "area_path",
    "responsible_unit",
    "resolution",
    "closed_at",
)
DEADLINE_COLS = """cases.stats_slot({t}.case_id) AS slot, {t}.case_id, {t}.department_code, {t}.kind,
  cases.stats_deadline_outcome({t}.state, {t}.met_at, {t}.due_at) AS outcome,
  date_trunc('minute', {t}.due_at) AS due_minute,
  ({t}.state = 'breached' AND {t}.met_at IS NULL AND {t}.cancel_reason IS NULL) AS owed_breached"""
DEADLINE_FIELDS = ("state", "due_at", "met_at", "cancel_reason", "department_code", "kind")


def _rows(op_: str, cols: str) -> str:
    """The signed rows: +1 each new row, -1 each old one, of an INSERT or DELETE statement (its transition
    table), or of one updated row (OLD and NEW; its trigger's WHEN lets through only rows whose counted fields
    changed — a statement trigger cannot filter so, and most updates change none of them)."""
    if op_ == "insert":
        return f"SELECT 1 AS sign, {cols.format(t='n')} FROM new_rows n"
    if op_ == "delete":
        return f"SELECT -1 AS sign, {cols.format(t='o')} FROM old_rows o"
    return f"SELECT -1 AS sign, {cols.format(t='OLD')}\n  UNION ALL\n  SELECT 1, {cols.format(t='NEW')}"


def _changed(fields: tuple[str, ...]) -> str:
    return " OR ".join(f"OLD.{f} IS DISTINCT FROM NEW.{f}" for f in fields)


# stats_deltas rows, `tbl` naming what they feed: k (stats_counts: a case counted in area gcode by its facts state,
# level, tier, kind, category, channel, n1 the sign; stats_case_count_keys gives the dimensions), c (stats_counts:
# gcode area, kind dim, value, n1), s (stats_sla: n1..n4 on_time, late, breached, pending), p (stats_pending:
# due_minute, kind, n1), d (stats_case_days: n1..n9 received, res_den, res_num, med_den, med_num, closed, kept,
# rev_den, rev_num), m (stats_mediator_months: gcode mediator, value month, kind level, shared_by, n1). `key` is
# the row's version key: gtype:gcode (m: m:month).
STAGE_COLS = (
    "tbl, gtype, gcode, day, due_minute, kind, value, shared_by, slot, n1, n2, n3, n4, n5, n6, n7, n8, n9,"
    " state, level, tier, category, channel"
)
KEY = "CASE WHEN s.tbl = 'm' THEN 'm:' || s.value ELSE s.gtype || ':' || s.gcode END"

CASE_STAGE = """
CREATE FUNCTION cases.stats_stage_cases_{op}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  WITH x AS MATERIALIZED (
  {rows}
  ), cnt AS (  -- one row per area and case facts (a change that moves none of them cancels out here)
    SELECT a, x.slot, x.state, x.level, x.tier, x.kind, x.category, x.channel, sum(x.sign) AS n
    FROM x, unnest(x.area_path) AS a
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8 HAVING sum(x.sign) <> 0
  ), dk AS (
    SELECT k.gtype, k.gcode, k.day, x.slot, k.metric, sum(x.sign) AS n
    FROM x, LATERAL cases.stats_case_day_keys(x.area_path, x.responsible_unit, x.state, x.outcome, x.received_day,
                                              x.closed_day, x.tier, x.initial_tier) k
    GROUP BY 1, 2, 3, 4, 5 HAVING sum(x.sign) <> 0
  ), med AS (
    SELECT k.month, k.mediator_code, k.level, k.shared_by, x.slot, sum(x.sign) AS n
    FROM x, LATERAL cases.stats_case_mediator_keys(x.state, x.level, x.resolution) k
    GROUP BY 1, 2, 3, 4, 5 HAVING sum(x.sign) <> 0
  )
  INSERT INTO cases.stats_deltas (key, {cols})
  SELECT {key}, s.* FROM (
  SELECT 'k', 'a', a, NULL::date, NULL::timestamptz, kind, NULL::text, NULL::int, slot, n, 0, 0, 0, 0, 0, 0, 0, 0,
         state, level, tier, category, channel
  FROM cnt
  UNION ALL
  SELECT 'd', gtype, gcode, day, NULL, NULL, NULL, NULL, slot,
    COALESCE(sum(n) FILTER (WHERE metric = 'received'), 0), COALESCE(sum(n) FILTER (WHERE metric = 'res_den'), 0),
    COALESCE(sum(n) FILTER (WHERE metric = 'res_num'), 0), COALESCE(sum(n) FILTER (WHERE metric = 'med_den'), 0),
    COALESCE(sum(n) FILTER (WHERE metric = 'med_num'), 0), COALESCE(sum(n) FILTER (WHERE metric = 'closed'), 0),
    COALESCE(sum(n) FILTER (WHERE metric = 'kept'), 0), 0, 0, NULL, NULL, NULL, NULL, NULL
  FROM dk GROUP BY gtype, gcode, day, slot
  UNION ALL
  SELECT 'm', 'm', mediator_code, NULL, NULL, level, month, shared_by, slot, n, 0, 0, 0, 0, 0, 0, 0, 0,
         NULL, NULL, NULL, NULL, NULL
  FROM med) s({cols});
  RETURN NULL;
END $$;
"""

DEADLINE_STAGE = """
CREATE FUNCTION cases.stats_stage_deadlines_{op}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  WITH x AS MATERIALIZED (
  {rows}
  ), k AS MATERIALIZED (
    SELECT x.sign, x.slot, k.*
    FROM x LEFT JOIN cases.cases c ON c.id = x.case_id,
         LATERAL cases.stats_deadline_keys(c.area_path, x.department_code, x.kind, x.outcome, x.due_minute,
                                           x.owed_breached) k
  ), sla AS (
    SELECT gtype, gcode, day, kind, slot,
           COALESCE(sum(sign) FILTER (WHERE outcome = 'on_time'), 0) AS on_time,
           COALESCE(sum(sign) FILTER (WHERE outcome = 'late'), 0) AS late,
           COALESCE(sum(sign) FILTER (WHERE outcome = 'breached'), 0) AS breached,
           COALESCE(sum(sign) FILTER (WHERE outcome = 'pending'), 0) AS pending
    FROM k WHERE tbl = 'sla' GROUP BY 1, 2, 3, 4, 5
  )
  INSERT INTO cases.stats_deltas (key, {cols})
  SELECT {key}, s.* FROM (
  SELECT 's', gtype, gcode, day, NULL::timestamptz, kind, NULL::text, NULL::int, slot, on_time, late, breached, pending,
         0, 0, 0, 0, 0, NULL::text, NULL::text, NULL::text, NULL::text, NULL::text
  FROM sla WHERE on_time <> 0 OR late <> 0 OR breached <> 0 OR pending <> 0
  UNION ALL
  SELECT 'p', gtype, gcode, NULL, due_minute, kind, NULL, NULL, slot, sum(sign), 0, 0, 0, 0, 0, 0,
         0, 0, NULL, NULL, NULL, NULL, NULL
  FROM k WHERE tbl = 'pending' GROUP BY gtype, gcode, due_minute, kind, slot HAVING sum(sign) <> 0
  UNION ALL
  SELECT 'c', 'a', gcode, NULL, NULL, 'overdue', '', NULL, slot, sum(sign), 0, 0, 0, 0, 0, 0, 0, 0,
         NULL, NULL, NULL, NULL, NULL
  FROM k WHERE tbl = 'overdue' GROUP BY gcode, slot HAVING sum(sign) <> 0) s({cols});
  RETURN NULL;
END $$;
"""

FUNCTIONS = f"""
{CASE_STAGE.format(op="insert", rows=_rows("insert", CASE_COLS), cols=STAGE_COLS, key=KEY)}
{CASE_STAGE.format(op="update", rows=_rows("update", CASE_COLS), cols=STAGE_COLS, key=KEY)}
{CASE_STAGE.format(op="delete", rows=_rows("delete", CASE_COLS), cols=STAGE_COLS, key=KEY)}
{DEADLINE_STAGE.format(op="insert", rows=_rows("insert", DEADLINE_COLS), cols=STAGE_COLS, key=KEY)}
{DEADLINE_STAGE.format(op="update", rows=_rows("update", DEADLINE_COLS), cols=STAGE_COLS, key=KEY)}
{DEADLINE_STAGE.format(op="delete", rows=_rows("delete", DEADLINE_COLS), cols=STAGE_COLS, key=KEY)}

CREATE FUNCTION cases.stats_stage_revisits() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  WITH g AS (
    SELECT cases.stats_slot(r.case_id) AS slot, cases.stats_day(r.at) AS day,
           (r.satisfaction IN ('satisfied', 'basically_satisfied'))::int AS ok, x.gtype, x.gcode
    FROM new_rows r JOIN cases.cases c ON c.id = r.case_id,
         LATERAL (SELECT 'a'::text AS gtype, unnest(c.area_path) AS gcode
                  UNION ALL SELECT 'd', c.responsible_unit WHERE c.responsible_unit IS NOT NULL) x
  )
  INSERT INTO cases.stats_deltas (key, {STAGE_COLS})
  SELECT gtype || ':' || gcode, 'd', gtype, gcode, day, NULL, NULL, NULL, NULL, slot, 0, 0, 0, 0, 0, 0, 0, count(*),
         sum(ok), NULL, NULL, NULL, NULL, NULL
  FROM g GROUP BY gtype, gcode, day, slot;
  RETURN NULL;
END $$;

-- the clocks a department answers for while it leads the whistle (plpgsql: its query plan is kept per session)
CREATE OR REPLACE FUNCTION cases.stats_lead_clock() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  SELECT w.department_code INTO NEW.department_code FROM cases.whistles w
  WHERE w.case_id = NEW.case_id AND w.role = 'lead' AND w.state NOT IN ('returned', 'cancelled')
  ORDER BY w.created_at DESC, w.id DESC LIMIT 1;
  RETURN NEW;
END $$;

CREATE OR REPLACE FUNCTION cases.stats_on_lead_whistle() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE lead text;
BEGIN
  SELECT w.department_code INTO lead FROM cases.whistles w
  WHERE w.case_id = NEW.case_id AND w.role = 'lead' AND w.state NOT IN ('returned', 'cancelled')
  ORDER BY w.created_at DESC, w.id DESC LIMIT 1;
  UPDATE cases.deadlines d SET department_code = lead
  WHERE d.case_id = NEW.case_id AND d.kind IN ('resolve', 'first_response', 'update') AND d.state = 'pending'
    AND d.met_at IS NULL AND d.department_code IS DISTINCT FROM lead;
  RETURN NULL;
END $$;

-- Committed deltas into the rollups, up to `batch` of them (the oldest first; rows another fold holds are
-- skipped): each rollup in key order and the rollups always in the same order, so two folds never wait on
-- each other in a cycle. Returns how many deltas it folded.
CREATE FUNCTION cases.stats_fold(batch int) RETURNS int LANGUAGE plpgsql AS $$
DECLARE
  folded int;
  zeros jsonb;
BEGIN
  WITH d AS MATERIALIZED (
    DELETE FROM cases.stats_deltas WHERE id IN (
      SELECT id FROM cases.stats_deltas ORDER BY id LIMIT batch FOR UPDATE SKIP LOCKED)
    RETURNING *
  ),
  cnt AS (
    INSERT INTO cases.stats_counts AS t (area_code, dim, value, slot, n)
    SELECT area_code, dim, value, slot, sum(n) FROM (
      SELECT gcode AS area_code, kind AS dim, value, slot, n1 AS n FROM d WHERE tbl = 'c'
      UNION ALL
      SELECT k.area_code, k.dim, k.value, d.slot, d.n1
      FROM d, LATERAL cases.stats_case_count_keys(ARRAY[d.gcode], d.state, d.level, d.tier, d.kind, d.category,
                                                  d.channel) k
      WHERE d.tbl = 'k') x
    GROUP BY 1, 2, 3, 4 HAVING sum(n) <> 0
    ORDER BY 1, 2, 3, 4
    ON CONFLICT (area_code, dim, value, slot) DO UPDATE SET n = t.n + excluded.n
  ), sla AS (
    INSERT INTO cases.stats_sla AS t (gtype, gcode, day, kind, slot, on_time, late, breached, pending)
    SELECT gtype, gcode, day, kind, slot, sum(n1), sum(n2), sum(n3), sum(n4) FROM d WHERE tbl = 's'
    GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT (gtype, gcode, day, kind, slot) DO UPDATE SET on_time = t.on_time + excluded.on_time,
      late = t.late + excluded.late, breached = t.breached + excluded.breached, pending = t.pending + excluded.pending
  ), sla_m AS (
    INSERT INTO cases.stats_sla_months AS t (gtype, gcode, month, kind, slot, on_time, late, breached, pending)
    SELECT gtype, gcode, date_trunc('month', day)::date, kind, slot, sum(n1), sum(n2), sum(n3), sum(n4)
    FROM d WHERE tbl = 's' GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT (gtype, gcode, month, kind, slot) DO UPDATE SET on_time = t.on_time + excluded.on_time,
      late = t.late + excluded.late, breached = t.breached + excluded.breached, pending = t.pending + excluded.pending
  ), days AS (
    INSERT INTO cases.stats_case_days AS t (gtype, gcode, day, slot, received, res_den, res_num, med_den, med_num,
                                            closed, kept, rev_den, rev_num)
    SELECT gtype, gcode, day, slot, sum(n1), sum(n2), sum(n3), sum(n4), sum(n5), sum(n6), sum(n7), sum(n8), sum(n9)
    FROM d WHERE tbl = 'd' GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
    ON CONFLICT (gtype, gcode, day, slot) DO UPDATE SET received = t.received + excluded.received,
      res_den = t.res_den + excluded.res_den, res_num = t.res_num + excluded.res_num,
      med_den = t.med_den + excluded.med_den, med_num = t.med_num + excluded.med_num,
      closed = t.closed + excluded.closed, kept = t.kept + excluded.kept,
      rev_den = t.rev_den + excluded.rev_den, rev_num = t.rev_num + excluded.rev_num
  ), months AS (
    INSERT INTO cases.stats_case_months AS t (gtype, gcode, month, slot, received, res_den, res_num, med_den,
                                              med_num, closed, kept, rev_den, rev_num)
    SELECT gtype, gcode, date_trunc('month', day)::date, slot, sum(n1), sum(n2), sum(n3), sum(n4), sum(n5), sum(n6),
           sum(n7), sum(n8), sum(n9)
    FROM d WHERE tbl = 'd' GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
    ON CONFLICT (gtype, gcode, month, slot) DO UPDATE SET received = t.received + excluded.received,
      res_den = t.res_den + excluded.res_den, res_num = t.res_num + excluded.res_num,
      med_den = t.med_den + excluded.med_den, med_num = t.med_num + excluded.med_num,
      closed = t.closed + excluded.closed, kept = t.kept + excluded.kept,
      rev_den = t.rev_den + excluded.rev_den, rev_num = t.rev_num + excluded.rev_num
  ), med AS (
    INSERT INTO cases.stats_mediator_months AS t (month, mediator_code, level, shared_by, n)
    SELECT value, gcode, kind, shared_by, sum(n1) FROM d WHERE tbl = 'm' GROUP BY 1, 2, 3, 4 HAVING sum(n1) <> 0
    ORDER BY 1, 2, 3, 4
    ON CONFLICT (month, mediator_code, level, shared_by) DO UPDATE SET n = t.n + excluded.n
  ), ver AS (
    INSERT INTO cases.stats_versions AS v (key, slot, version)
    SELECT key, slot, nextval('cases.stats_version_seq') FROM (
      SELECT DISTINCT key, slot FROM d ORDER BY 1, 2) k
    ON CONFLICT (key, slot) DO UPDATE SET version = excluded.version
  ), pend AS (
    INSERT INTO cases.stats_pending AS t (gtype, gcode, due_minute, kind, n)
    SELECT gtype, gcode, due_minute, kind, sum(n1) FROM d WHERE tbl = 'p' GROUP BY 1, 2, 3, 4 HAVING sum(n1) <> 0
    ORDER BY 1, 2, 3, 4
    ON CONFLICT (gtype, gcode, due_minute, kind) DO UPDATE SET n = t.n + excluded.n
    RETURNING t.gtype, t.gcode, t.due_minute, t.kind, t.n
  )
  SELECT (SELECT count(*) FROM d),
         jsonb_agg(jsonb_build_object('gtype', gtype, 'gcode', gcode, 'due_minute', due_minute, 'kind', kind))
           FILTER (WHERE n = 0)
  INTO folded, zeros FROM pend;
  IF zeros IS NOT NULL THEN  -- a minute no clock is pending in any more leaves no row (overdue reads scan the past)
    DELETE FROM cases.stats_pending t
    USING jsonb_to_recordset(zeros) AS z(gtype text, gcode text, due_minute timestamptz, kind text)
    WHERE t.gtype = z.gtype AND t.gcode = z.gcode AND t.due_minute = z.due_minute AND t.kind = z.kind AND t.n = 0;
  END IF;
  RETURN folded;
END $$;

-- the day rollups recounted (0017's recount, kept under a new name), then the months summed from the days
ALTER FUNCTION cases.stats_rebuild() RENAME TO stats_rebuild_days;

CREATE FUNCTION cases.stats_rebuild() RETURNS void LANGUAGE sql AS $$
  TRUNCATE cases.stats_deltas;
  SELECT cases.stats_rebuild_days();
  SELECT cases.stats_fill_months();
$$;

CREATE TRIGGER stats_cases_insert AFTER INSERT ON cases.cases REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION cases.stats_stage_cases_insert();
CREATE TRIGGER stats_cases_update AFTER UPDATE ON cases.cases FOR EACH ROW WHEN ({_changed(CASE_FIELDS)})
  EXECUTE FUNCTION cases.stats_stage_cases_update();
CREATE TRIGGER stats_cases_delete AFTER DELETE ON cases.cases REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION cases.stats_stage_cases_delete();
CREATE TRIGGER stats_deadlines_insert AFTER INSERT ON cases.deadlines REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION cases.stats_stage_deadlines_insert();
CREATE TRIGGER stats_deadlines_update AFTER UPDATE ON cases.deadlines FOR EACH ROW WHEN ({_changed(DEADLINE_FIELDS)})
  EXECUTE FUNCTION cases.stats_stage_deadlines_update();
CREATE TRIGGER stats_deadlines_delete AFTER DELETE ON cases.deadlines REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION cases.stats_stage_deadlines_delete();
CREATE TRIGGER stats_revisits_insert AFTER INSERT ON cases.revisits REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION cases.stats_stage_revisits();
"""

# the month rollups summed from the day rollups (after a recount, and to back-fill them here)
FILL_MONTHS = r"""
CREATE FUNCTION cases.stats_fill_months() RETURNS void LANGUAGE sql AS $$
  TRUNCATE cases.stats_sla_months, cases.stats_case_months;
  INSERT INTO cases.stats_sla_months (gtype, gcode, month, kind, slot, on_time, late, breached, pending)
  SELECT gtype, gcode, date_trunc('month', day)::date, kind, slot, sum(on_time), sum(late), sum(breached), sum(pending)
  FROM cases.stats_sla GROUP BY 1, 2, 3, 4, 5;
  INSERT INTO cases.stats_case_months (gtype, gcode, month, slot, received, res_den, res_num, med_den, med_num,
                                       closed, kept, rev_den, rev_num)
  SELECT gtype, gcode, date_trunc('month', day)::date, slot, sum(received), sum(res_den), sum(res_num), sum(med_den),
         sum(med_num), sum(closed), sum(kept), sum(rev_den), sum(rev_num)
  FROM cases.stats_case_days GROUP BY 1, 2, 3, 4;
$$;
"""

DROP = r"""
DROP TRIGGER IF EXISTS stats_revisits_insert ON cases.revisits;
DROP TRIGGER IF EXISTS stats_deadlines_delete ON cases.deadlines;
DROP TRIGGER IF EXISTS stats_deadlines_update ON cases.deadlines;
DROP TRIGGER IF EXISTS stats_deadlines_insert ON cases.deadlines;
DROP TRIGGER IF EXISTS stats_cases_delete ON cases.cases;
DROP TRIGGER IF EXISTS stats_cases_update ON cases.cases;
DROP TRIGGER IF EXISTS stats_cases_insert ON cases.cases;
DROP FUNCTION IF EXISTS cases.stats_rebuild(), cases.stats_fill_months(), cases.stats_rebuild_days(),
  cases.stats_fold(int), cases.stats_stage_revisits(), cases.stats_stage_deadlines_delete(),
  cases.stats_stage_deadlines_update(), cases.stats_stage_deadlines_insert(), cases.stats_stage_cases_delete(),
  cases.stats_stage_cases_update(), cases.stats_stage_cases_insert();
"""


def _statements(sql: str) -> list[str]:
    """One statement at a time (asyncpg runs no multi-statement string): split at a line ending in `;`
    outside a $$-quoted body."""
    out, current, quoted = [], [], False
    for line in sql.strip().splitlines():
        current.append(line)
        quoted ^= line.count("$$") % 2 == 1
        if not quoted and line.rstrip().endswith(";"):
            out.append("\n".join(current))
            current = []
    if "".join(current).strip():
        out.append("\n".join(current))
    return out


def _counter(name: str) -> sa.Column:
    return sa.Column(name, sa.BigInteger(), nullable=False, server_default="0")


SLA_COUNTERS = ("on_time", "late", "breached", "pending")
CASE_COUNTERS = ("received", "res_den", "res_num", "med_den", "med_num", "closed", "kept", "rev_den", "rev_num")

# Each rollup's primary key carries its counters (INCLUDE), so a read is an index-only scan of the key range it
# asks for, not a visit of a heap page per row: at 10M cases one area's pending minutes or a month of days lie on
# thousands of heap pages, a few dozen index pages.
COVERED = {
    "stats_counts": ("area_code, dim, value, slot", "n"),
    "stats_pending": ("gtype, gcode, due_minute, kind", "n"),
    "stats_sla": ("gtype, gcode, day, kind, slot", ", ".join(SLA_COUNTERS)),
    "stats_sla_months": ("gtype, gcode, month, kind, slot", ", ".join(SLA_COUNTERS)),
    "stats_case_days": ("gtype, gcode, day, slot", ", ".join(CASE_COUNTERS)),
    "stats_case_months": ("gtype, gcode, month, slot", ", ".join(CASE_COUNTERS)),
    "stats_mediator_months": ("month, mediator_code, level, shared_by", "n"),
}


def _primary_keys(covered: bool, tables: tuple[str, ...] = tuple(COVERED)) -> None:
    for table in tables:
        keys, counters = COVERED[table]
        include = f" INCLUDE ({counters})" if covered else ""
        op.execute(
            f"ALTER TABLE cases.{table} DROP CONSTRAINT {table}_pkey,"
            f" ADD CONSTRAINT {table}_pkey PRIMARY KEY ({keys}){include}"
        )


def upgrade() -> None:
    for name, table in ROW_TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name} ON cases.{table}")
    op.execute("DROP FUNCTION IF EXISTS cases.stats_flush() CASCADE")  # with its constraint trigger on the marks
    op.execute(f"DROP FUNCTION IF EXISTS {', '.join(ROW_FUNCTIONS)}, cases.stats_mark()")
    # staged deltas of transactions in flight only (none are committed): the commit-time flush goes with them
    for name in (*OLD_STAGED, "stats_staged_marks"):
        op.drop_table(name, schema=S)
    op.create_table(
        "stats_deltas",
        sa.Column(
            "id", sa.BigInteger(), primary_key=True, server_default=sa.text("nextval('cases.stats_version_seq')")
        ),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("tbl", sa.Text(), nullable=False),
        sa.Column("gtype", sa.Text(), nullable=False),
        sa.Column("gcode", sa.Text(), nullable=False),
        sa.Column("day", sa.Date()),
        sa.Column("due_minute", sa.DateTime(timezone=True)),
        sa.Column("kind", sa.Text()),
        sa.Column("value", sa.Text()),
        sa.Column("shared_by", sa.Integer()),
        sa.Column("slot", sa.SmallInteger(), nullable=False),
        *[_counter(f"n{i}") for i in range(1, 10)],
        *[sa.Column(c, sa.Text()) for c in ("state", "level", "tier", "category", "channel")],
        schema=S,
    )
    op.create_index("ix_stats_deltas_key", "stats_deltas", ["key", "id"], schema=S)
    # every fold leaves dead rows that reads of a key step over until a vacuum: vacuum it after a few hundred
    op.execute(
        "ALTER TABLE cases.stats_deltas SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 500,"
        " autovacuum_vacuum_cost_delay = 0)"
    )
    op.create_table(
        "stats_sla_months",
        sa.Column("gtype", sa.Text(), primary_key=True),
        sa.Column("gcode", sa.Text(), primary_key=True),
        sa.Column("month", sa.Date(), primary_key=True),
        sa.Column("kind", sa.Text(), primary_key=True),
        sa.Column("slot", sa.SmallInteger(), primary_key=True),
        *[_counter(c) for c in SLA_COUNTERS],
        schema=S,
    )
    op.create_table(
        "stats_case_months",
        sa.Column("gtype", sa.Text(), primary_key=True),
        sa.Column("gcode", sa.Text(), primary_key=True),
        sa.Column("month", sa.Date(), primary_key=True),
        sa.Column("slot", sa.SmallInteger(), primary_key=True),
        *[_counter(c) for c in CASE_COUNTERS],
        schema=S,
    )
    for statement in _statements(FILL_MONTHS + FUNCTIONS):
        op.execute(statement)
    _primary_keys(covered=True)
    op.execute("SELECT cases.stats_fill_months()")  # back-fill: the months of the days already counted


def _revision_0017() -> ModuleType:
    path = Path(__file__).with_name("0017_cases_evaluation_rollups.py")
    spec = importlib.util.spec_from_file_location("revision_0017", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def downgrade() -> None:
    """Back to 0017's row triggers: its functions and staged tables made anew, the rollups recounted."""
    for statement in _statements(DROP):
        op.execute(statement)
    op.drop_table("stats_case_months", schema=S)
    op.drop_table("stats_sla_months", schema=S)
    op.drop_table("stats_deltas", schema=S)
    _primary_keys(covered=False, tables=tuple(t for t in COVERED if not t.endswith("_months") or "mediator" in t))
    r0017 = _revision_0017()
    for statement in r0017._statements(r0017.DROP):
        op.execute(statement)
    r0017._staged_tables()
    for statement in r0017._statements(r0017.FUNCTIONS):
        op.execute(statement)
    op.execute("SELECT cases.stats_rebuild()")
