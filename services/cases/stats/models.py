"""Rollups of the evaluation figures (问效): counters kept by triggers in the same transaction as the
change they count (migrations 0017 and 0022 hold the trigger functions), so a dashboard poll reads a handful of
rows whatever the number of cases.

Keys: `gtype` is `a` (an area: every ancestor on the case's area path, itself included) or `d` (a
department: the one a clock or a case answers to). `slot` (0-3, from the case id) spreads the writes
of one busy area over four rows so concurrent case actions seldom wait on one another; reads sum them.
Days are dates in China time."""

from sqlalchemy import BigInteger, Column, Date, DateTime, Index, Integer, Sequence, SmallInteger, Table, Text, text
from sqlalchemy.dialects.postgresql import UUID

from services.cases.db import metadata

stats_version_seq = Sequence("stats_version_seq", metadata=metadata)

# Bumped (from stats_version_seq) by every change of a rollup row of that key: `a:<area>`, `d:<department>`,
# `m:<YYYY-MM>`. An ETag is built from these, so an unchanged poll answers 304 without aggregating.
stats_versions = Table(
    "stats_versions",
    metadata,
    Column("key", Text, primary_key=True),
    Column("slot", SmallInteger, primary_key=True),
    Column("version", BigInteger, nullable=False),
)

# Case counters per area: dim total/open/state/level/tier/kind/category/channel and `overdue` (clocks
# breached and still owed).
stats_counts = Table(
    "stats_counts",
    metadata,
    Column("area_code", Text, primary_key=True),
    Column("dim", Text, primary_key=True),
    Column("value", Text, primary_key=True),
    Column("slot", SmallInteger, primary_key=True),
    Column("n", BigInteger, nullable=False),
)

# Pending clocks by the minute they fall due: overdue now, due in 24 hours, and today's past-due ones.
stats_pending = Table(
    "stats_pending",
    metadata,
    Column("gtype", Text, primary_key=True),
    Column("gcode", Text, primary_key=True),
    Column("due_minute", DateTime(timezone=True), primary_key=True),
    Column("kind", Text, primary_key=True),
    Column("n", BigInteger, nullable=False),
)

# Clock outcomes by the day they fall due (on-time rates): met on time, met late, breached, still pending.
stats_sla = Table(
    "stats_sla",
    metadata,
    Column("gtype", Text, primary_key=True),
    Column("gcode", Text, primary_key=True),
    Column("day", Date, primary_key=True),
    Column("kind", Text, primary_key=True),
    Column("slot", SmallInteger, primary_key=True),
    Column("on_time", BigInteger, nullable=False, server_default="0"),
    Column("late", BigInteger, nullable=False, server_default="0"),
    Column("breached", BigInteger, nullable=False, server_default="0"),
    Column("pending", BigInteger, nullable=False, server_default="0"),
)

# Case rates by day: received (and of those: concluded, settled, mediation tried/settled) by the day
# received; closed and kept at tier by the day closed; revisits and satisfied ones by the revisit's day.
stats_case_days = Table(
    "stats_case_days",
    metadata,
    Column("gtype", Text, primary_key=True),
    Column("gcode", Text, primary_key=True),
    Column("day", Date, primary_key=True),
    Column("slot", SmallInteger, primary_key=True),
    Column("received", BigInteger, nullable=False, server_default="0"),
    Column("res_den", BigInteger, nullable=False, server_default="0"),
    Column("res_num", BigInteger, nullable=False, server_default="0"),
    Column("med_den", BigInteger, nullable=False, server_default="0"),
    Column("med_num", BigInteger, nullable=False, server_default="0"),
    Column("closed", BigInteger, nullable=False, server_default="0"),
    Column("kept", BigInteger, nullable=False, server_default="0"),
    Column("rev_den", BigInteger, nullable=False, server_default="0"),
    Column("rev_num", BigInteger, nullable=False, server_default="0"),
)

# The same counters per calendar month (`month` its first day), kept by the same commit: a long period reads its
# whole months here and only the days of its ragged ends from the day rollups.
stats_sla_months = Table(
    "stats_sla_months",
    metadata,
    Column("gtype", Text, primary_key=True),
    Column("gcode", Text, primary_key=True),
    Column("month", Date, primary_key=True),
    Column("kind", Text, primary_key=True),
    Column("slot", SmallInteger, primary_key=True),
    *[Column(c, BigInteger, nullable=False, server_default="0") for c in ("on_time", "late", "breached", "pending")],
)
stats_case_months = Table(
    "stats_case_months",
    metadata,
    Column("gtype", Text, primary_key=True),
    Column("gcode", Text, primary_key=True),
    Column("month", Date, primary_key=True),
    Column("slot", SmallInteger, primary_key=True),
    *[
        Column(c, BigInteger, nullable=False, server_default="0")
        for c in ("received", "res_den", "res_num", "med_den", "med_num", "closed", "kept", "rev_den", "rev_num")
    ],
)

# Settled cases per mediator, month (of the resolution, China time), grade and how many mediators shared it.
stats_mediator_months = Table(
    "stats_mediator_months",
    metadata,
    Column("month", Text, primary_key=True),
    Column("mediator_code", Text, primary_key=True),
    Column("level", Text, primary_key=True),
    Column("shared_by", Integer, primary_key=True),
    Column("n", BigInteger, nullable=False),
)

# Patrol reports (巡查日志) per day, area (each ancestor of the grid) and grid worker.
stats_patrols = Table(
    "stats_patrols",
    metadata,
    Column("area_code", Text, primary_key=True),
    Column("day", Date, primary_key=True),
    Column("worker_id", Text, primary_key=True),
    Column("n", BigInteger, nullable=False),
)

# Every revisit (回访) ever made, not only the case's latest satisfaction.
revisits = Table(
    "revisits",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("case_id", UUID(as_uuid=True), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("satisfaction", Text, nullable=False),
    Column("actor", Text, nullable=False),
    Index("ix_revisits_case", "case_id"),
)


# The deltas of committed (and in-flight) changes not yet folded into the rollups: one row per rollup key and
# statement, appended by the statement triggers of migration 0022 (`tbl` names the rollup: k a case's facts
# in an area — state, level, tier, kind, category, channel — for the counts, c counts, s sla,
# p pending, d case days, m mediator months; n1..n9 its counters in the rollup's column order; `key` the
# version key, gtype:gcode or m:month). Reads add them to the rollups in the same statement; the `stats_fold`
# tick moves them in. `id` comes from stats_version_seq, so it also versions an ETag.
stats_deltas = Table(
    "stats_deltas",
    metadata,
    Column("id", BigInteger, primary_key=True, server_default=text("nextval('cases.stats_version_seq')")),
    Column("key", Text, nullable=False),
    Column("tbl", Text, nullable=False),
    Column("gtype", Text, nullable=False),
    Column("gcode", Text, nullable=False),
    Column("day", Date),
    Column("due_minute", DateTime(timezone=True)),
    Column("kind", Text),
    Column("value", Text),
    Column("shared_by", Integer),
    Column("slot", SmallInteger, nullable=False),
    *[Column(f"n{i}", BigInteger, nullable=False, server_default="0") for i in range(1, 10)],
    *[Column(c, Text) for c in ("state", "level", "tier", "category", "channel")],
    Index("ix_stats_deltas_key", "key", "id"),
)
