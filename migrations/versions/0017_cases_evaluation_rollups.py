"""cases: the evaluation figures (问效) — the case's channel, every revisit kept, the mediator register,
and rollups kept by triggers in the same transaction as the change they count; clocks of resolve,
first_response and update carry the department leading the whistle

Revision ID: 0017
Revises: 0016
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

S = "cases"

# --- the keys a row contributes to (scalar arguments, so triggers and the rebuild share them) ---------
FUNCTIONS = r"""
CREATE FUNCTION cases.stats_tx() RETURNS bigint LANGUAGE sql VOLATILE AS
$$ SELECT pg_current_xact_id()::text::bigint $$;

-- once per transaction: a marker row whose deferred trigger moves the staged deltas into the rollups at commit
CREATE FUNCTION cases.stats_mark() RETURNS void LANGUAGE sql AS $$
  INSERT INTO cases.stats_staged_marks (txid) VALUES (cases.stats_tx()) ON CONFLICT DO NOTHING
$$;

CREATE FUNCTION cases.stats_day(ts timestamptz) RETURNS date LANGUAGE sql STABLE AS
$$ SELECT (ts AT TIME ZONE 'Asia/Shanghai')::date $$;

CREATE FUNCTION cases.stats_tier_rank(tier text) RETURNS int LANGUAGE sql IMMUTABLE AS
$$ SELECT CASE tier WHEN 'village' THEN 0 WHEN 'township' THEN 1 WHEN 'county' THEN 2 END $$;

CREATE FUNCTION cases.stats_slot(id uuid) RETURNS smallint LANGUAGE sql IMMUTABLE AS
$$ SELECT (hashtext(id::text) & 3)::smallint $$;

-- overview counters of one case
CREATE FUNCTION cases.stats_case_count_keys(
    path text[], state text, level text, tier text, kind text, category text, channel text)
RETURNS TABLE(area_code text, dim text, value text) LANGUAGE sql IMMUTABLE AS $$
  SELECT a, k.dim, k.value
  FROM unnest(path) AS a,
       LATERAL (VALUES ('total', ''),
                       ('open', CASE WHEN state NOT IN ('closed', 'merged', 'rejected') THEN '' END),
                       ('state', state), ('level', level), ('tier', tier), ('kind', kind),
                       ('category', category), ('channel', channel)) AS k(dim, value)
  WHERE k.value IS NOT NULL AND state IS NOT NULL
$$;

-- rates of one case: received/concluded/settled by the day received, closed/kept by the day closed
CREATE FUNCTION cases.stats_case_day_keys(
    path text[], unit text, state text, outcome text, received_day date, closed_day date,
    tier text, initial_tier text)
RETURNS TABLE(gtype text, gcode text, day date, metric text) LANGUAGE sql IMMUTABLE AS $$
  WITH g(gtype, gcode) AS (SELECT 'a', unnest(path) UNION ALL SELECT 'd', unit WHERE unit IS NOT NULL),
  concluded AS (SELECT state IN ('resolved', 'replied', 'revisited', 'closed') AS yes),
  m(day, metric) AS (
    SELECT received_day, 'received'
    UNION ALL SELECT received_day, 'res_den' FROM concluded WHERE yes
    UNION ALL SELECT received_day, 'res_num' FROM concluded
      WHERE yes AND outcome IN ('mediated', 'judicial_confirmation', 'administrative', 'withdrawn')
    UNION ALL SELECT received_day, 'med_den' WHERE outcome IN ('mediated', 'judicial_confirmation', 'mediation_failed')
    UNION ALL SELECT received_day, 'med_num' WHERE outcome IN ('mediated', 'judicial_confirmation')
    UNION ALL SELECT closed_day, 'closed' WHERE state = 'closed' AND closed_day IS NOT NULL
    UNION ALL SELECT closed_day, 'kept' WHERE state = 'closed' AND closed_day IS NOT NULL
      AND cases.stats_tier_rank(tier) <= cases.stats_tier_rank(COALESCE(initial_tier, tier))
  )
  SELECT g.gtype, g.gcode, m.day, m.metric FROM g, m WHERE state IS NOT NULL AND m.day IS NOT NULL
$$;

-- settled cases per mediator (以案计补): only mediated and judicial_confirmation are paid
CREATE FUNCTION cases.stats_case_mediator_keys(state text, level text, resolution jsonb)
RETURNS TABLE(month text, mediator_code text, level text, shared_by int) LANGUAGE sql STABLE AS $$
  SELECT to_char(cases.stats_day((resolution->>'at')::timestamptz), 'YYYY-MM'), m.code, COALESCE(level, 'ordinary'),
         jsonb_array_length(resolution->'mediators')
  FROM jsonb_array_elements_text(
         CASE WHEN jsonb_typeof(resolution->'mediators') = 'array' THEN resolution->'mediators' ELSE '[]' END
       ) AS m(code)
  WHERE state IN ('resolved', 'replied', 'revisited', 'closed')
    AND resolution->>'outcome' IN ('mediated', 'judicial_confirmation')
$$;

-- the outcome of one clock: on_time | late | breached | pending | NULL (cancelled: left out)
CREATE FUNCTION cases.stats_deadline_outcome(state text, met_at timestamptz, due_at timestamptz)
RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE
    WHEN state = 'cancelled' THEN NULL
    WHEN met_at IS NOT NULL THEN CASE WHEN state = 'met' AND met_at <= due_at THEN 'on_time' ELSE 'late' END
    WHEN state = 'breached' THEN 'breached'
    WHEN state = 'pending' THEN 'pending'
  END
$$;

-- what one clock contributes: tbl sla (by due day), pending (by due minute), overdue (breached and owed)
CREATE FUNCTION cases.stats_deadline_keys(
    path text[], department text, kind text, outcome text, due_minute timestamptz, owed_breached boolean)
RETURNS TABLE(tbl text, gtype text, gcode text, day date, due_minute timestamptz, kind text, outcome text)
LANGUAGE sql STABLE AS $$
  WITH g(gtype, gcode) AS (SELECT 'a', unnest(path) UNION ALL SELECT 'd', department WHERE department IS NOT NULL)
  SELECT 'sla', g.gtype, g.gcode, cases.stats_day(due_minute), NULL::timestamptz, kind, outcome FROM g
    WHERE outcome IS NOT NULL
  UNION ALL
  SELECT 'pending', g.gtype, g.gcode, NULL::date, due_minute, kind, NULL FROM g WHERE outcome = 'pending'
  UNION ALL
  SELECT 'overdue', 'a', a, NULL::date, NULL::timestamptz, NULL, NULL FROM unnest(path) AS a WHERE owed_breached
$$;

-- stage the signed keys of a clock (old row -1, new row +1; nothing when they cancel); the rollups take them
-- at commit (stats_flush), so a transaction locks rollup rows only then, once, in key order
CREATE FUNCTION cases.stats_apply_deadline(keys jsonb, s smallint) RETURNS void LANGUAGE sql AS $$
  WITH k AS (
    SELECT x.sign, d.* FROM jsonb_to_recordset(keys) AS x(sign int, path text[], department text, kind text,
             outcome text, due_minute timestamptz, owed_breached boolean),
         LATERAL cases.stats_deadline_keys(x.path, x.department, x.kind, x.outcome, x.due_minute, x.owed_breached) d
  ), sla AS (
    INSERT INTO cases.stats_staged_sla (txid, gtype, gcode, day, kind, slot, on_time, late, breached, pending)
    SELECT cases.stats_tx(), gtype, gcode, day, kind, s,
           COALESCE(sum(sign) FILTER (WHERE outcome = 'on_time'), 0),
           COALESCE(sum(sign) FILTER (WHERE outcome = 'late'), 0),
           COALESCE(sum(sign) FILTER (WHERE outcome = 'breached'), 0),
           COALESCE(sum(sign) FILTER (WHERE outcome = 'pending'), 0)
    FROM k WHERE tbl = 'sla' GROUP BY gtype, gcode, day, kind
    HAVING (COALESCE(sum(sign) FILTER (WHERE outcome = 'on_time'), 0) <> 0
        OR COALESCE(sum(sign) FILTER (WHERE outcome = 'late'), 0) <> 0
        OR COALESCE(sum(sign) FILTER (WHERE outcome = 'breached'), 0) <> 0
        OR COALESCE(sum(sign) FILTER (WHERE outcome = 'pending'), 0) <> 0)
    RETURNING gtype, gcode
  ), pend AS (
    INSERT INTO cases.stats_staged_pending (txid, gtype, gcode, due_minute, kind, n)
    SELECT cases.stats_tx(), gtype, gcode, due_minute, kind, sum(sign) FROM k WHERE tbl = 'pending'
    GROUP BY gtype, gcode, due_minute, kind HAVING sum(sign) <> 0
    RETURNING gtype, gcode
  ), od AS (
    INSERT INTO cases.stats_staged_counts (txid, area_code, dim, value, slot, n)
    SELECT cases.stats_tx(), gcode, 'overdue', '', s, sum(sign) FROM k WHERE tbl = 'overdue'
    GROUP BY gcode HAVING sum(sign) <> 0
    RETURNING 'a'::text AS gtype, area_code AS gcode
  )
  INSERT INTO cases.stats_staged_versions (txid, key, slot)
  SELECT DISTINCT cases.stats_tx(), gtype || ':' || gcode, s FROM (
    SELECT * FROM sla UNION ALL SELECT * FROM pend UNION ALL SELECT * FROM od) ch;
  SELECT cases.stats_mark();
$$;

CREATE FUNCTION cases.stats_deadline_json(d cases.deadlines, path text[], sign int) RETURNS jsonb
LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object('sign', sign, 'path', to_jsonb(path), 'department', d.department_code, 'kind', d.kind,
    'outcome', cases.stats_deadline_outcome(d.state, d.met_at, d.due_at),
    'due_minute', date_trunc('minute', d.due_at),
    'owed_breached', d.state = 'breached' AND d.met_at IS NULL AND d.cancel_reason IS NULL)
$$;

CREATE FUNCTION cases.stats_on_deadline() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  p text[];
  keys jsonb := '[]'::jsonb;
BEGIN
  IF TG_OP = 'DELETE' THEN
    SELECT c.area_path INTO p FROM cases.cases c WHERE c.id = OLD.case_id;
  ELSE
    SELECT c.area_path INTO p FROM cases.cases c WHERE c.id = NEW.case_id;
  END IF;
  IF TG_OP <> 'INSERT' THEN
    keys := keys || cases.stats_deadline_json(OLD, p, -1);
  END IF;
  IF TG_OP <> 'DELETE' THEN
    keys := keys || cases.stats_deadline_json(NEW, p, 1);
  END IF;
  PERFORM cases.stats_apply_deadline(keys, cases.stats_slot(COALESCE(NEW.case_id, OLD.case_id)));
  RETURN NULL;
END $$;

-- the clocks a department answers for while it leads the whistle: resolve, first_response, update
CREATE FUNCTION cases.stats_lead_of(case_id uuid) RETURNS text LANGUAGE sql STABLE AS $$
  SELECT w.department_code FROM cases.whistles w
  WHERE w.case_id = stats_lead_of.case_id AND w.role = 'lead' AND w.state NOT IN ('returned', 'cancelled')
  ORDER BY w.created_at DESC, w.id DESC LIMIT 1
$$;

CREATE FUNCTION cases.stats_lead_clock() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.department_code := cases.stats_lead_of(NEW.case_id);
  RETURN NEW;
END $$;

CREATE FUNCTION cases.stats_on_lead_whistle() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE lead text := cases.stats_lead_of(NEW.case_id);
BEGIN
  UPDATE cases.deadlines d SET department_code = lead
  WHERE d.case_id = NEW.case_id AND d.kind IN ('resolve', 'first_response', 'update') AND d.state = 'pending'
    AND d.met_at IS NULL AND d.department_code IS DISTINCT FROM lead;
  RETURN NULL;
END $$;

CREATE FUNCTION cases.stats_apply_case(keys jsonb, s smallint) RETURNS void LANGUAGE sql AS $$
  WITH x AS (
    SELECT * FROM jsonb_to_recordset(keys) AS x(sign int, path text[], unit text, state text, level text, tier text,
      initial_tier text, kind text, category text, channel text, outcome text, received_day date, closed_day date,
      resolution jsonb)
  ), cnt AS (
    INSERT INTO cases.stats_staged_counts (txid, area_code, dim, value, slot, n)
    SELECT cases.stats_tx(), k.area_code, k.dim, k.value, s, sum(x.sign)
    FROM x, LATERAL cases.stats_case_count_keys(x.path, x.state, x.level, x.tier, x.kind, x.category, x.channel) k
    GROUP BY k.area_code, k.dim, k.value HAVING sum(x.sign) <> 0
    RETURNING 'a'::text AS gtype, area_code AS gcode
  ), dk AS (
    SELECT k.gtype, k.gcode, k.day, k.metric, sum(x.sign) AS n
    FROM x, LATERAL cases.stats_case_day_keys(x.path, x.unit, x.state, x.outcome, x.received_day, x.closed_day,
                                              x.tier, x.initial_tier) k
    GROUP BY 1, 2, 3, 4 HAVING sum(x.sign) <> 0
  ), days AS (
    INSERT INTO cases.stats_staged_case_days (txid, gtype, gcode, day, slot, received, res_den, res_num, med_den,
                                              med_num, closed, kept)
    SELECT cases.stats_tx(), gtype, gcode, day, s,
      COALESCE(sum(n) FILTER (WHERE metric = 'received'), 0), COALESCE(sum(n) FILTER (WHERE metric = 'res_den'), 0),
      COALESCE(sum(n) FILTER (WHERE metric = 'res_num'), 0), COALESCE(sum(n) FILTER (WHERE metric = 'med_den'), 0),
      COALESCE(sum(n) FILTER (WHERE metric = 'med_num'), 0), COALESCE(sum(n) FILTER (WHERE metric = 'closed'), 0),
      COALESCE(sum(n) FILTER (WHERE metric = 'kept'), 0)
    FROM dk GROUP BY gtype, gcode, day
    RETURNING gtype, gcode
  ), med AS (
    INSERT INTO cases.stats_staged_mediator_months (txid, month, mediator_code, level, shared_by, n)
    SELECT cases.stats_tx(), k.month, k.mediator_code, k.level, k.shared_by, sum(x.sign)
    FROM x, LATERAL cases.stats_case_mediator_keys(x.state, x.level, x.resolution) k
    GROUP BY k.month, k.mediator_code, k.level, k.shared_by HAVING sum(x.sign) <> 0
    RETURNING 'm'::text AS gtype, month AS gcode
  )
  INSERT INTO cases.stats_staged_versions (txid, key, slot)
  SELECT DISTINCT cases.stats_tx(), gtype || ':' || gcode, s FROM (
    SELECT * FROM cnt UNION ALL SELECT * FROM days UNION ALL SELECT * FROM med) ch;
  SELECT cases.stats_mark();
$$;

CREATE FUNCTION cases.stats_case_json(c cases.cases, sign int) RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object('sign', sign, 'path', to_jsonb(c.area_path), 'unit', c.responsible_unit,
    'state', c.state, 'level', c.level, 'tier', c.tier, 'initial_tier', c.initial_tier, 'kind', c.kind,
    'category', c.category, 'channel', c.channel, 'outcome', c.resolution->>'outcome',
    'received_day', cases.stats_day(c.created_at), 'closed_day', cases.stats_day(c.closed_at),
    'resolution', c.resolution)
$$;

CREATE FUNCTION cases.stats_on_case() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE keys jsonb := '[]'::jsonb;
BEGIN
  IF TG_OP <> 'INSERT' THEN
    keys := keys || cases.stats_case_json(OLD, -1);
  END IF;
  IF TG_OP <> 'DELETE' THEN
    keys := keys || cases.stats_case_json(NEW, 1);
  END IF;
  PERFORM cases.stats_apply_case(keys, cases.stats_slot(COALESCE(NEW.id, OLD.id)));
  RETURN NULL;
END $$;

CREATE FUNCTION cases.stats_on_revisit() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE s smallint := cases.stats_slot(NEW.case_id);
BEGIN
  WITH g AS (
    SELECT 'a'::text AS gtype, unnest(c.area_path) AS gcode FROM cases.cases c WHERE c.id = NEW.case_id
    UNION ALL SELECT 'd', c.responsible_unit FROM cases.cases c
      WHERE c.id = NEW.case_id AND c.responsible_unit IS NOT NULL
  ), up AS (
    INSERT INTO cases.stats_staged_case_days (txid, gtype, gcode, day, slot, rev_den, rev_num)
    SELECT cases.stats_tx(), gtype, gcode, cases.stats_day(NEW.at), s, 1,
           CASE WHEN NEW.satisfaction IN ('satisfied', 'basically_satisfied') THEN 1 ELSE 0 END FROM g
    RETURNING gtype, gcode
  )
  INSERT INTO cases.stats_staged_versions (txid, key, slot)
  SELECT DISTINCT cases.stats_tx(), gtype || ':' || gcode, s FROM up;
  PERFORM cases.stats_mark();
  RETURN NULL;
END $$;

-- At commit, the transaction's staged deltas go into the rollups: one statement per rollup, in a fixed table
-- order and in key order, so two transactions never wait on each other's rollup rows in a cycle (no deadlock),
-- and rollup rows stay locked only for the commit itself.
CREATE FUNCTION cases.stats_flush() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  tx bigint := cases.stats_tx();
  zeros jsonb;
BEGIN
  WITH d AS (DELETE FROM cases.stats_staged_counts WHERE txid = tx RETURNING *)
  INSERT INTO cases.stats_counts AS t (area_code, dim, value, slot, n)
  SELECT area_code, dim, value, slot, sum(n) FROM d GROUP BY 1, 2, 3, 4 HAVING sum(n) <> 0 ORDER BY 1, 2, 3, 4
  ON CONFLICT (area_code, dim, value, slot) DO UPDATE SET n = t.n + excluded.n;

  WITH d AS (DELETE FROM cases.stats_staged_pending WHERE txid = tx RETURNING *),
  up AS (
    INSERT INTO cases.stats_pending AS t (gtype, gcode, due_minute, kind, n)
    SELECT gtype, gcode, due_minute, kind, sum(n) FROM d GROUP BY 1, 2, 3, 4 HAVING sum(n) <> 0 ORDER BY 1, 2, 3, 4
    ON CONFLICT (gtype, gcode, due_minute, kind) DO UPDATE SET n = t.n + excluded.n
    RETURNING t.gtype, t.gcode, t.due_minute, t.kind, t.n
  )
  SELECT jsonb_agg(jsonb_build_object('gtype', gtype, 'gcode', gcode, 'due_minute', due_minute, 'kind', kind))
  INTO zeros FROM up WHERE n = 0;
  IF zeros IS NOT NULL THEN  -- a minute no clock is pending in any more leaves no row (overdue reads scan the past)
    DELETE FROM cases.stats_pending t
    USING jsonb_to_recordset(zeros) AS z(gtype text, gcode text, due_minute timestamptz, kind text)
    WHERE t.gtype = z.gtype AND t.gcode = z.gcode AND t.due_minute = z.due_minute AND t.kind = z.kind AND t.n = 0;
  END IF;

  WITH d AS (DELETE FROM cases.stats_staged_sla WHERE txid = tx RETURNING *)
  INSERT INTO cases.stats_sla AS t (gtype, gcode, day, kind, slot, on_time, late, breached, pending)
  SELECT gtype, gcode, day, kind, slot, sum(on_time), sum(late), sum(breached), sum(pending)
  FROM d GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
  ON CONFLICT (gtype, gcode, day, kind, slot) DO UPDATE SET on_time = t.on_time + excluded.on_time,
    late = t.late + excluded.late, breached = t.breached + excluded.breached, pending = t.pending + excluded.pending;

  WITH d AS (DELETE FROM cases.stats_staged_case_days WHERE txid = tx RETURNING *)
  INSERT INTO cases.stats_case_days AS t (gtype, gcode, day, slot, received, res_den, res_num, med_den, med_num,
                                          closed, kept, rev_den, rev_num)
  SELECT gtype, gcode, day, slot, sum(received), sum(res_den), sum(res_num), sum(med_den), sum(med_num), sum(closed),
         sum(kept), sum(rev_den), sum(rev_num)
  FROM d GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
  ON CONFLICT (gtype, gcode, day, slot) DO UPDATE SET received = t.received + excluded.received,
    res_den = t.res_den + excluded.res_den, res_num = t.res_num + excluded.res_num,
    med_den = t.med_den + excluded.med_den, med_num = t.med_num + excluded.med_num,
    closed = t.closed + excluded.closed, kept = t.kept + excluded.kept,
    rev_den = t.rev_den + excluded.rev_den, rev_num = t.rev_num + excluded.rev_num;

  WITH d AS (DELETE FROM cases.stats_staged_mediator_months WHERE txid = tx RETURNING *)
  INSERT INTO cases.stats_mediator_months AS t (month, mediator_code, level, shared_by, n)
  SELECT month, mediator_code, level, shared_by, sum(n) FROM d GROUP BY 1, 2, 3, 4 HAVING sum(n) <> 0
  ORDER BY 1, 2, 3, 4
  ON CONFLICT (month, mediator_code, level, shared_by) DO UPDATE SET n = t.n + excluded.n;

  WITH d AS (DELETE FROM cases.stats_staged_versions WHERE txid = tx RETURNING *)
  INSERT INTO cases.stats_versions AS v (key, slot, version)
  SELECT key, slot, nextval('cases.stats_version_seq') FROM (SELECT DISTINCT key, slot FROM d ORDER BY 1, 2) k
  ON CONFLICT (key, slot) DO UPDATE SET version = excluded.version;

  DELETE FROM cases.stats_staged_marks WHERE txid = tx;
  RETURN NULL;
END $$;

-- Recount every rollup from the case tables (after a bulk load, or to check the triggers): grouped first,
-- so the cost is one pass over each table.
CREATE FUNCTION cases.stats_rebuild() RETURNS void LANGUAGE sql AS $$
  TRUNCATE cases.stats_counts, cases.stats_pending, cases.stats_sla, cases.stats_case_days,
           cases.stats_mediator_months;
  INSERT INTO cases.stats_counts (area_code, dim, value, slot, n)
  SELECT k.area_code, k.dim, k.value, g.slot, sum(g.n)
  FROM (SELECT area_path, state, level, tier, kind, category, channel, cases.stats_slot(id) AS slot, count(*) AS n
        FROM cases.cases GROUP BY 1, 2, 3, 4, 5, 6, 7, 8) g,
       LATERAL cases.stats_case_count_keys(g.area_path, g.state, g.level, g.tier, g.kind, g.category, g.channel) k
  GROUP BY 1, 2, 3, 4;
  INSERT INTO cases.stats_case_days (gtype, gcode, day, slot, received, res_den, res_num, med_den, med_num, closed,
                                     kept, rev_den, rev_num)
  SELECT gtype, gcode, day, slot,
    COALESCE(sum(n) FILTER (WHERE metric = 'received'), 0),
    COALESCE(sum(n) FILTER (WHERE metric = 'res_den'), 0),
    COALESCE(sum(n) FILTER (WHERE metric = 'res_num'), 0),
    COALESCE(sum(n) FILTER (WHERE metric = 'med_den'), 0),
    COALESCE(sum(n) FILTER (WHERE metric = 'med_num'), 0),
    COALESCE(sum(n) FILTER (WHERE metric = 'closed'), 0),
    COALESCE(sum(n) FILTER (WHERE metric = 'kept'), 0),
    COALESCE(sum(n) FILTER (WHERE metric = 'rev_den'), 0),
    COALESCE(sum(n) FILTER (WHERE metric = 'rev_num'), 0)
  FROM (
    SELECT k.gtype, k.gcode, k.day, g.slot, k.metric, sum(g.n) AS n
    FROM (SELECT area_path, responsible_unit, state, resolution->>'outcome' AS outcome,
                 cases.stats_day(created_at) AS rd, cases.stats_day(closed_at) AS cd, tier, initial_tier,
                 cases.stats_slot(id) AS slot, count(*) AS n
          FROM cases.cases GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9) g,
         LATERAL cases.stats_case_day_keys(g.area_path, g.responsible_unit, g.state, g.outcome, g.rd, g.cd, g.tier,
                                           g.initial_tier) k
    GROUP BY 1, 2, 3, 4, 5
    UNION ALL
    SELECT g.gtype, g.gcode, cases.stats_day(r.at), cases.stats_slot(r.case_id), m.metric, count(*)
    FROM cases.revisits r JOIN cases.cases c ON c.id = r.case_id,
         LATERAL (SELECT 'a'::text AS gtype, unnest(c.area_path) AS gcode
                  UNION ALL SELECT 'd', c.responsible_unit WHERE c.responsible_unit IS NOT NULL) g,
         LATERAL (SELECT 'rev_den' AS metric UNION ALL SELECT 'rev_num'
                  WHERE r.satisfaction IN ('satisfied', 'basically_satisfied')) m
    GROUP BY 1, 2, 3, 4, 5
  ) z GROUP BY 1, 2, 3, 4;
  INSERT INTO cases.stats_mediator_months (month, mediator_code, level, shared_by, n)
  SELECT k.month, k.mediator_code, k.level, k.shared_by, count(*)
  FROM cases.cases c, LATERAL cases.stats_case_mediator_keys(c.state, c.level, c.resolution) k
  WHERE c.resolution ? 'mediators'
  GROUP BY 1, 2, 3, 4;
  WITH g AS (
    SELECT c.area_path, d.department_code, d.kind, cases.stats_deadline_outcome(d.state, d.met_at, d.due_at) AS outcome,
           date_trunc('minute', d.due_at) AS due_minute,
           (d.state = 'breached' AND d.met_at IS NULL AND d.cancel_reason IS NULL) AS owed_breached,
           cases.stats_slot(d.case_id) AS slot, count(*) AS n
    FROM cases.deadlines d JOIN cases.cases c ON c.id = d.case_id
    WHERE d.state <> 'cancelled'
    GROUP BY 1, 2, 3, 4, 5, 6, 7
  ), k AS MATERIALIZED (
    SELECT g.slot, g.n, k.* FROM g,
      LATERAL cases.stats_deadline_keys(g.area_path, g.department_code, g.kind, g.outcome, g.due_minute,
                                        g.owed_breached) k
  ), a AS (
    INSERT INTO cases.stats_sla (gtype, gcode, day, kind, slot, on_time, late, breached, pending)
    SELECT gtype, gcode, day, kind, slot, COALESCE(sum(n) FILTER (WHERE outcome = 'on_time'), 0),
           COALESCE(sum(n) FILTER (WHERE outcome = 'late'), 0), COALESCE(sum(n) FILTER (WHERE outcome = 'breached'), 0),
           COALESCE(sum(n) FILTER (WHERE outcome = 'pending'), 0)
    FROM k WHERE tbl = 'sla' GROUP BY 1, 2, 3, 4, 5
  ), b AS (
    INSERT INTO cases.stats_pending (gtype, gcode, due_minute, kind, n)
    SELECT gtype, gcode, due_minute, kind, sum(n) FROM k WHERE tbl = 'pending' GROUP BY 1, 2, 3, 4
  )
  INSERT INTO cases.stats_counts (area_code, dim, value, slot, n)
  SELECT gcode, 'overdue', '', slot, sum(n) FROM k WHERE tbl = 'overdue' GROUP BY 1, 4;
  INSERT INTO cases.stats_versions (key, slot, version)
  SELECT 'rebuild', 0, nextval('cases.stats_version_seq')
  ON CONFLICT (key, slot) DO UPDATE SET version = excluded.version;
$$;

CREATE TRIGGER stats_case AFTER INSERT OR DELETE ON cases.cases FOR EACH ROW EXECUTE FUNCTION cases.stats_on_case();
CREATE TRIGGER stats_case_change AFTER UPDATE ON cases.cases FOR EACH ROW
  WHEN (OLD.state IS DISTINCT FROM NEW.state OR OLD.level IS DISTINCT FROM NEW.level
        OR OLD.tier IS DISTINCT FROM NEW.tier OR OLD.initial_tier IS DISTINCT FROM NEW.initial_tier
        OR OLD.kind IS DISTINCT FROM NEW.kind OR OLD.category IS DISTINCT FROM NEW.category
        OR OLD.channel IS DISTINCT FROM NEW.channel OR OLD.area_path IS DISTINCT FROM NEW.area_path
        OR OLD.responsible_unit IS DISTINCT FROM NEW.responsible_unit
        OR OLD.resolution IS DISTINCT FROM NEW.resolution OR OLD.closed_at IS DISTINCT FROM NEW.closed_at)
  EXECUTE FUNCTION cases.stats_on_case();
CREATE TRIGGER stats_deadline AFTER INSERT OR DELETE ON cases.deadlines FOR EACH ROW
  EXECUTE FUNCTION cases.stats_on_deadline();
CREATE TRIGGER stats_deadline_change AFTER UPDATE ON cases.deadlines FOR EACH ROW
  WHEN (OLD.state IS DISTINCT FROM NEW.state OR OLD.due_at IS DISTINCT FROM NEW.due_at
        OR OLD.met_at IS DISTINCT FROM NEW.met_at OR OLD.cancel_reason IS DISTINCT FROM NEW.cancel_reason
        OR OLD.department_code IS DISTINCT FROM NEW.department_code OR OLD.kind IS DISTINCT FROM NEW.kind)
  EXECUTE FUNCTION cases.stats_on_deadline();
CREATE TRIGGER stats_lead_clock BEFORE INSERT ON cases.deadlines FOR EACH ROW
  WHEN (NEW.kind IN ('resolve', 'first_response', 'update') AND NEW.department_code IS NULL)
  EXECUTE FUNCTION cases.stats_lead_clock();
CREATE TRIGGER stats_lead_whistle AFTER INSERT OR UPDATE OF state ON cases.whistles FOR EACH ROW
  WHEN (NEW.role = 'lead') EXECUTE FUNCTION cases.stats_on_lead_whistle();
CREATE TRIGGER stats_revisit AFTER INSERT ON cases.revisits FOR EACH ROW EXECUTE FUNCTION cases.stats_on_revisit();
CREATE CONSTRAINT TRIGGER stats_flush AFTER INSERT ON cases.stats_staged_marks DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW EXECUTE FUNCTION cases.stats_flush();
"""

DROP = r"""
DROP TRIGGER IF EXISTS stats_flush ON cases.stats_staged_marks;
DROP TRIGGER IF EXISTS stats_revisit ON cases.revisits;
DROP TRIGGER IF EXISTS stats_lead_whistle ON cases.whistles;
DROP TRIGGER IF EXISTS stats_lead_clock ON cases.deadlines;
DROP TRIGGER IF EXISTS stats_deadline_change ON cases.deadlines;
DROP TRIGGER IF EXISTS stats_deadline ON cases.deadlines;
DROP TRIGGER IF EXISTS stats_case_change ON cases.cases;
DROP TRIGGER IF EXISTS stats_case ON cases.cases;
DROP FUNCTION IF EXISTS cases.stats_rebuild(), cases.stats_flush(), cases.stats_mark(), cases.stats_on_revisit(),
  cases.stats_on_case(),
  cases.stats_case_json(cases.cases, int), cases.stats_apply_case(jsonb, smallint), cases.stats_on_lead_whistle(),
  cases.stats_lead_clock(), cases.stats_lead_of(uuid), cases.stats_on_deadline(),
  cases.stats_deadline_json(cases.deadlines, text[], int), cases.stats_apply_deadline(jsonb, smallint),
  cases.stats_deadline_keys(text[], text, text, text, timestamptz, boolean),
  cases.stats_deadline_outcome(text, timestamptz, timestamptz), cases.stats_case_mediator_keys(text, text, jsonb),
  cases.stats_case_day_keys(text[], text, text, text, date, date, text, text),
  cases.stats_case_count_keys(text[], text, text, text, text, text, text), cases.stats_slot(uuid),
  cases.stats_tier_rank(text), cases.stats_day(timestamptz), cases.stats_tx();
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


# What a transaction's triggers stage, moved into the rollups at its commit (stats_flush), keyed by transaction.
STAGED = {
    "stats_staged_counts": [("area_code", sa.Text), ("dim", sa.Text), ("value", sa.Text), ("slot", sa.SmallInteger)],
    "stats_staged_pending": [
        ("gtype", sa.Text),
        ("gcode", sa.Text),
        ("due_minute", lambda: sa.DateTime(timezone=True)),
        ("kind", sa.Text),
    ],
    "stats_staged_sla": [
        ("gtype", sa.Text),
        ("gcode", sa.Text),
        ("day", sa.Date),
        ("kind", sa.Text),
        ("slot", sa.SmallInteger),
    ],
    "stats_staged_case_days": [("gtype", sa.Text), ("gcode", sa.Text), ("day", sa.Date), ("slot", sa.SmallInteger)],
    "stats_staged_mediator_months": [
        ("month", sa.Text),
        ("mediator_code", sa.Text),
        ("level", sa.Text),
        ("shared_by", sa.Integer),
    ],
    "stats_staged_versions": [("key", sa.Text), ("slot", sa.SmallInteger)],
}
STAGED_COUNTERS = {
    "stats_staged_counts": ("n",),
    "stats_staged_pending": ("n",),
    "stats_staged_sla": ("on_time", "late", "breached", "pending"),
    "stats_staged_case_days": (
        "received",
        "res_den",
        "res_num",
        "med_den",
        "med_num",
        "closed",
        "kept",
        "rev_den",
        "rev_num",
    ),
    "stats_staged_mediator_months": ("n",),
    "stats_staged_versions": (),
}


def _staged_tables() -> None:
    for name, keys in STAGED.items():
        op.create_table(
            name,
            sa.Column("txid", sa.BigInteger(), nullable=False),
            *[sa.Column(k, t(), nullable=False) for k, t in keys],
            *[_counter(c) for c in STAGED_COUNTERS[name]],
            schema=S,
        )
        op.create_index(f"ix_{name}_txid", name, ["txid"], schema=S)
    op.create_table("stats_staged_marks", sa.Column("txid", sa.BigInteger(), primary_key=True), schema=S)


def upgrade() -> None:
    op.add_column("cases", sa.Column("channel", sa.Text(), nullable=False, server_default="grid"), schema=S)
    op.create_table(
        "mediators",
        sa.Column("code", sa.Text(), primary_key=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("area_code", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("committee", sa.Text()),
        sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        schema=S,
    )
    op.create_table(
        "revisits",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        sa.Column("case_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("satisfaction", sa.Text(), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        schema=S,
    )
    op.create_index("ix_revisits_case", "revisits", ["case_id"], schema=S)
    op.execute("CREATE SEQUENCE cases.stats_version_seq")
    op.create_table(
        "stats_versions",
        sa.Column("key", sa.Text(), primary_key=True),
        sa.Column("slot", sa.SmallInteger(), primary_key=True),
        sa.Column("version", sa.BigInteger(), nullable=False),
        schema=S,
    )
    op.create_table(
        "stats_counts",
        sa.Column("area_code", sa.Text(), primary_key=True),
        sa.Column("dim", sa.Text(), primary_key=True),
        sa.Column("value", sa.Text(), primary_key=True),
        sa.Column("slot", sa.SmallInteger(), primary_key=True),
        sa.Column("n", sa.BigInteger(), nullable=False),
        schema=S,
    )
    op.create_table(
        "stats_pending",
        sa.Column("gtype", sa.Text(), primary_key=True),
        sa.Column("gcode", sa.Text(), primary_key=True),
        sa.Column("due_minute", sa.DateTime(timezone=True), primary_key=True),
        sa.Column("kind", sa.Text(), primary_key=True),
        sa.Column("n", sa.BigInteger(), nullable=False),
        schema=S,
    )
    op.create_table(
        "stats_sla",
        sa.Column("gtype", sa.Text(), primary_key=True),
        sa.Column("gcode", sa.Text(), primary_key=True),
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("kind", sa.Text(), primary_key=True),
        sa.Column("slot", sa.SmallInteger(), primary_key=True),
        *[_counter(c) for c in ("on_time", "late", "breached", "pending")],
        schema=S,
    )
    op.create_table(
        "stats_case_days",
        sa.Column("gtype", sa.Text(), primary_key=True),
        sa.Column("gcode", sa.Text(), primary_key=True),
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("slot", sa.SmallInteger(), primary_key=True),
        *[
            _counter(c)
            for c in ("received", "res_den", "res_num", "med_den", "med_num", "closed", "kept", "rev_den", "rev_num")
        ],
        schema=S,
    )
    op.create_table(
        "stats_mediator_months",
        sa.Column("month", sa.Text(), primary_key=True),
        sa.Column("mediator_code", sa.Text(), primary_key=True),
        sa.Column("level", sa.Text(), primary_key=True),
        sa.Column("shared_by", sa.Integer(), primary_key=True),
        sa.Column("n", sa.BigInteger(), nullable=False),
        schema=S,
    )
    op.create_table(
        "stats_patrols",
        sa.Column("area_code", sa.Text(), primary_key=True),
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("worker_id", sa.Text(), primary_key=True),
        sa.Column("n", sa.BigInteger(), nullable=False),
        schema=S,
    )
    _staged_tables()
    for statement in _statements(FUNCTIONS):
        op.execute(statement)
    # clocks already running get the department leading their whistle now, then every rollup is counted
    op.execute(
        """UPDATE cases.deadlines d SET department_code = cases.stats_lead_of(d.case_id)
           WHERE d.kind IN ('resolve', 'first_response', 'update') AND d.department_code IS NULL
             AND cases.stats_lead_of(d.case_id) IS NOT NULL"""
    )
    op.execute("SELECT cases.stats_rebuild()")


def downgrade() -> None:
    for statement in _statements(DROP):
        op.execute(statement)
    for table in (
        *STAGED,
        "stats_staged_marks",
        "stats_patrols",
        "stats_mediator_months",
        "stats_case_days",
        "stats_sla",
        "stats_pending",
        "stats_counts",
        "stats_versions",
        "revisits",
        "mediators",
    ):
        op.drop_table(table, schema=S)
    op.execute("DROP SEQUENCE cases.stats_version_seq")
    op.drop_column("cases", "channel", schema=S)
