"""Rollups of the evaluation figures (问效): counters kept by triggers in the same transaction as the
change they count (migration 0017 holds the trigger functions), so a dashboard poll reads a handful of
rows whatever the number of cases.

Keys: `gtype` is `a` (an area: every ancestor on the case's area path, itself included) or `d` (a
department: the one a clock or a case answers to). `slot` (0-3, from the case id) spreads the writes
of one busy area over four rows so concurrent case actions seldom wait on one another; reads sum them.
Days are dates in China time."""

from sqlalchemy import BigInteger, Column, Date, DateTime, Index, Integer, Sequence, SmallInteger, Table, Text
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


def _staged(name: str, keys: list[Column], counters: tuple[str, ...]) -> Table:
    """What one transaction's triggers stage for a rollup; its commit moves them in (stats_flush), in key order,
    so concurrent transactions never deadlock on rollup rows and hold them only while committing."""
    return Table(
        name,
        metadata,
        Column("txid", BigInteger, nullable=False),
        *keys,
        *[Column(c, BigInteger, nullable=False, server_default="0") for c in counters],
        Index(f"ix_{name}_txid", "txid"),
    )


stats_staged_counts = _staged(
    "stats_staged_counts",
    [
        Column("area_code", Text, nullable=False),
        Column("dim", Text, nullable=False),
        Column("value", Text, nullable=False),
        Column("slot", SmallInteger, nullable=False),
    ],
    ("n",),
)
stats_staged_pending = _staged(
    "stats_staged_pending",
    [
        Column("gtype", Text, nullable=False),
        Column("gcode", Text, nullable=False),
        Column("due_minute", DateTime(timezone=True), nullable=False),
        Column("kind", Text, nullable=False),
    ],
    ("n",),
)
stats_staged_sla = _staged(
    "stats_staged_sla",
    [
        Column("gtype", Text, nullable=False),
        Column("gcode", Text, nullable=False),
        Column("day", Date, nullable=False),
        Column("kind", Text, nullable=False),
        Column("slot", SmallInteger, nullable=False),
    ],
    ("on_time", "late", "breached", "pending"),
)
stats_staged_case_days = _staged(
    "stats_staged_case_days",
    [
        Column("gtype", Text, nullable=False),
        Column("gcode", Text, nullable=False),
        Column("day", Date, nullable=False),
        Column("slot", SmallInteger, nullable=False),
    ],
    ("received", "res_den", "res_num", "med_den", "med_num", "closed", "kept", "rev_den", "rev_num"),
)
stats_staged_mediator_months = _staged(
    "stats_staged_mediator_months",
    [
        Column("month", Text, nullable=False),
        Column("mediator_code", Text, nullable=False),
        Column("level", Text, nullable=False),
        Column("shared_by", Integer, nullable=False),
    ],
    ("n",),
)
stats_staged_versions = _staged(
    "stats_staged_versions", [Column("key", Text, nullable=False), Column("slot", SmallInteger, nullable=False)], ()
)
stats_staged_marks = Table("stats_staged_marks", metadata, Column("txid", BigInteger, primary_key=True))
