"""Deadline clocks: sweep actions/s and fire lateness over 1M pending deadlines; case creation at 10k vs 1M.

What it does (all in its own database `fengqiao_bench_deadlines`, `--deadlines-database`, recreated empty and dropped
at the end):
1. `shared.devdb.resolve_database_url("test")` with TEST_DATABASE_NAME set to that name, `alembic upgrade head`, then
   areas (one county / township / village and 4 grids).
2. Seeds `--deadlines-small` (10k) pending deadlines with set-based SQL (INSERT ... SELECT generate_series): assigned
   cases, each with a `first_response` (3d) and an `update` (7d) clock started in the last day, so their next step
   (the 50% warning) lies 0.5-3.5 days ahead. VACUUM ANALYZE.
3. Case creation at 10k: `--deadlines-creates` (300) sequential `create_from_report(session, ReportSubmitted, domain)`
   calls, each in its own unit of work (what a report.submitted event does: case row, subjects, rules grading,
   contact / major_report clocks, timeline, outbox), after 20 unmeasured ones. p50/p99 ms including the commit.
4. Grows the pending deadlines to `--deadlines-pending` (1M) the same way, VACUUM ANALYZE, and measures case
   creation again.
5. Starts `--deadlines-sweepers` (2) processes, each one replica's deadline ticker: every `--deadlines-tick` seconds
   (the cases default sweep_interval_seconds, 0.5) up to 20 rounds of the real
   `services.cases.deadline.jobs.sweep_once(db, engine, batch)` until one fires nothing (what `jobs.sweep` does under
   APScheduler's interval trigger, max_instances=1, coalesce), on the system clock. A stream of new cases
   (`--deadlines-stream-rate`, 20/s, created as in step 3) runs while they sweep. The 1M others stay pending.
   Due deadlines sit one per seeded case; their next step is 40% the 50% warning (fires 1 action), 20% the 80%
   warning (1), 40% the breach (fires breach + the +0 "remind" rung together: 2); kinds contact / acknowledge (1h),
   reply (1d), resolve (3d), natural calendar; the step after those fired is >= 12 min away.
   a. Capacity: `--deadlines-backlog` (50k) deadlines overdue at once (scheduled in the last minute, committed in
      one statement); actions/s = actions / (end of the last firing sweep_once - start of the first).
   b. Lateness: `--deadlines-due` (100k) deadlines whose next step becomes due uniformly over a window of wall
      clock sized to offer `--deadlines-rate` actions/s (5,000, the target; `--deadlines-window` fixes it instead).
      Lateness = fire moment - the step's scheduled time (`DeadlineEngine.fire_time` of the seeded row), both as
      recorded (timeline `at` = the sweep's `now`) and as visible (the commit of the sweep transaction that fired it).
6. Exactly-once checks over both sets: timeline entries per deadline = the steps due, in order and of the right
   action; each deadline's next_step/state afterwards; no duplicate outbox events; nothing else fired.
7. Where the time goes: per 1000 actions, the sweepers' wall time and CPU in each statement of sweep_once (claim,
   loads, inserts, update, commit) and in the rest (Python: jobs.py, SQLAlchemy parameters, JSON); CPU cores per
   process group (sweepers, case stream, PostgreSQL backends of this database, other work on the machine) and
   cluster-wide WAL during each phase; whether the claim plan is a bitmap heap scan and what a claim costs afterwards
   with nothing due; per-statement ms of a case creation at 10k and at 1M. `--deadlines-profile DIR` adds cProfile
   of the sweepers (note: with SQLAlchemy's greenlets, waits on the database show up as tottime of
   `_execute_clauseelement`). `--deadlines-x-*` options are experiments that change the sweepers' behaviour (bench
   process only) to measure what a fix would bring; their figures are labelled as such.

Targets (issue, 2-core machine): >= 5,000 deadline actions/s, lateness p99 <= 1 s, and creating a case with its
deadlines does not slow down as pending deadlines grow from 10k to 1M (judged here: p50 at 1M <= 1.25 x p50 at
10k + 1 ms; both are printed).

    .venv/bin/python tests/bench/bench_deadlines.py                        # defaults
    .venv/bin/python tests/bench/bench_deadlines.py --deadlines-pending 200000 --deadlines-due 20000 \
        --deadlines-backlog 20000
    .venv/bin/python tests/bench/bench_deadlines.py --deadlines-profile var/bench-prof  # cProfile each sweeper,
                                                                                       # print the top
    .venv/bin/python tests/bench/bench_deadlines.py --deadlines-tick 0.1                # a shorter sweep interval
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import multiprocessing as mp
import os
import random
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import psutil
from _common import asyncpg_dsn, pct, prepare_database

ROOT = Path(__file__).resolve().parent.parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

BENCH_DB = "fengqiao_bench_deadlines"
TARGET_ACTIONS_PER_S = 5000.0
TARGET_LATENESS_P99_S = 1.0
SLOWDOWN_FACTOR, SLOWDOWN_SLACK_MS = 1.25, 1.0
UTC = UTC
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
US = timedelta(microseconds=1)
COUNTY, TOWNSHIP, VILLAGE = "BQ", "BQ01", "BQ0101"
GRIDS = tuple(f"{VILLAGE}{n:02d}" for n in range(1, 5))
TIMELINE_ACTION = {
    "warning": "deadline_warning",
    "breach": "deadline_breached",
    "remind": "remind",
    "notice": "notice",
    "escalate": "escalate",
}
# kinds of the due set: (kind, limit seconds, department)
DUE_KINDS = (
    ("contact", 3600.0, None),
    ("acknowledge", 3600.0, "bench-dept"),
    ("reply", 86400.0, None),
    ("resolve", 259200.0, "bench-dept"),
    ("contact", 3600.0, None),
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("bench_deadlines")
    g.add_argument(
        "--deadlines-pending", type=int, default=1_000_000, help="pending deadlines seeded (default 1,000,000)"
    )
    g.add_argument(
        "--deadlines-small",
        type=int,
        default=10_000,
        help="pending deadlines at the first creation measurement (default 10,000)",
    )
    g.add_argument(
        "--deadlines-backlog",
        type=int,
        default=50_000,
        help="deadlines overdue at once, for the capacity (default 50,000; 0: judge actions/s on the window)",
    )
    g.add_argument(
        "--deadlines-due", type=int, default=100_000, help="deadlines made due over the window (default 100,000)"
    )
    g.add_argument(
        "--deadlines-rate",
        type=float,
        default=TARGET_ACTIONS_PER_S,
        help=f"actions/s the window offers; sets its length (default {TARGET_ACTIONS_PER_S:,.0f}, the target)",
    )
    g.add_argument(
        "--deadlines-window",
        type=float,
        default=None,
        help="seconds over which they become due (overrides --deadlines-rate)",
    )
    g.add_argument("--deadlines-sweepers", type=int, default=2, help="sweeper processes, like replicas (default 2)")
    g.add_argument(
        "--deadlines-batch", type=int, default=None, help="sweep_once batch (default: CasesSettings.sweep_batch, 500)"
    )
    g.add_argument(
        "--deadlines-tick",
        type=float,
        default=None,
        help="seconds between sweep ticks (default: CasesSettings.sweep_interval_seconds, 0.5)",
    )
    g.add_argument(
        "--deadlines-rounds",
        type=int,
        default=20,
        help="sweep_once rounds per tick at most, as jobs.sweep (default 20)",
    )
    g.add_argument(
        "--deadlines-creates", type=int, default=300, help="measured sequential case creations per size (default 300)"
    )
    g.add_argument(
        "--deadlines-stream-rate",
        type=float,
        default=20.0,
        help="new cases/s created during the sweep (default 20; 0 = none)",
    )
    g.add_argument(
        "--deadlines-drain",
        type=float,
        default=120.0,
        help="seconds after the window to wait for the sweep to finish (default 120)",
    )
    g.add_argument(
        "--deadlines-profile",
        metavar="DIR",
        default=None,
        help="cProfile each sweeper into DIR/sweeper-N.prof and print the top",
    )
    g.add_argument(
        "--deadlines-x-no-bitmapscan",
        action="store_true",
        help="EXPERIMENT, not the product as is: the sweepers' connections run with enable_bitmapscan=off, "
        "so the claim walks ix_deadlines_due_work in order and stops after the batch",
    )
    g.add_argument(
        "--deadlines-x-cache-steps",
        action="store_true",
        help="EXPERIMENT, not the product as is: DeadlineEngine.steps cached per engine instead of Policy.steps() "
        "rebuilt on every fire_time call",
    )
    g.add_argument(
        "--deadlines-database",
        default=BENCH_DB,
        help=f"database name (default {BENCH_DB}; recreated empty, dropped at the end)",
    )
    g.add_argument("--deadlines-keep", action="store_true", help="keep the database afterwards")


# --- helpers ---------------------------------------------------------------------------------------


def to_us(at: datetime) -> int:
    return (at - EPOCH) // US


def build_domain() -> Any:
    """As services/cases/main.py does (no overrides: the bench database has none)."""
    from services.cases.calendar import WorkCalendar
    from services.cases.case.domain import CaseDomain
    from services.cases.deadline.policy import load_policy
    from services.cases.deadline.service import DeadlineEngine
    from services.cases.grading import load_rules

    return CaseDomain(rules=load_rules(None), deadlines=DeadlineEngine(load_policy(None), WorkCalendar(overrides={})))


# --- seeding ---------------------------------------------------------------------------------------

AREAS_SQL = """
INSERT INTO cases.areas (code, name, level, parent_code, path, updated_at) VALUES
  ($1, '基准县', 'county', NULL, ARRAY[$1], now()),
  ($2, '基准镇', 'township', $1, ARRAY[$1, $2], now()),
  ($3, '基准村', 'village', $2, ARRAY[$1, $2, $3], now())
"""
GRID_SQL = (
    "INSERT INTO cases.areas (code, name, level, parent_code, path, updated_at) VALUES ($1, $2, 'grid', $3, $4, now())"
)

# Case i (1-based): id md5('bench-case-i'), assigned a while ago, in one of the 4 grids.
CASES_SQL = """
INSERT INTO cases.cases (id, number, state, kind, category, title, description, area_code, area_path, tier, level,
  reporter_id, parties, people_involved, flags, attachments, created_at, updated_at, grade, initial_tier, inform_county,
  responsible_unit)
SELECT md5('bench-case-' || i)::uuid, 'B' || lpad(i::text, 9, '0'), 'assigned', 'dispute', 'neighbour',
       '邻里排水纠纷（基准' || i || '）',
       '邻里之间因排水沟堵塞导致院墙渗水，双方互不相让。网格员已到现场初步了解情况。',
       g.code, ARRAY['BQ', 'BQ01', 'BQ0101', g.code], 'township', 'complex', 'bench-worker',
       '[]'::jsonb, 3, '[]'::jsonb, '[]'::jsonb, s.t0, s.t0,
       '{"level": "complex", "score": 60, "reasons": ["基准"], "tier": "township", "by": "rule", "inform_county":
         false}'::jsonb,
       'township', false, '基准镇综治中心'
FROM generate_series($1::int, $2::int) i
CROSS JOIN LATERAL (SELECT 'BQ0101' || lpad((1 + i % 4)::text, 2, '0') AS code) g
CROSS JOIN LATERAL (SELECT $3::timestamptz - make_interval(secs => (i % 86400) + 3600) AS t0) s
"""

# Two running clocks per case, started when it was assigned: next step = the 50% warning, 0.5-3.5 days ahead.
PENDING_SQL = """
INSERT INTO cases.deadlines (id, case_id, kind, state, calendar, limit_seconds, started_at, due_at, provisional,
  next_step, next_fire_at, created_at)
SELECT gen_random_uuid(), md5('bench-case-' || i)::uuid, k.kind, 'pending', 'natural', k.lim, s.t0,
       s.t0 + make_interval(secs => k.lim), false, 0, s.t0 + make_interval(secs => k.lim * $4::float8), s.t0
FROM generate_series($1::int, $2::int) i
CROSS JOIN LATERAL (SELECT $3::timestamptz - make_interval(secs => (i % 86400) + 3600) AS t0) s
CROSS JOIN (VALUES ('first_response', 259200.0::float8), ('update', 604800.0::float8)) k(kind, lim)
"""

DUE_TABLE_SQL = """
CREATE TABLE public.bench_due (deadline_id uuid PRIMARY KEY, case_id uuid NOT NULL, phase text NOT NULL, kind text NOT
  NULL,
  department text, lim float8 NOT NULL, step int NOT NULL, fraction float8 NOT NULL, scheduled timestamptz NOT NULL)
"""

# Deadline j sits on case j. Its next step (0: 50% warning, 1: 80% warning, 2: breach) is scheduled uniformly in
# [base, base + spread). kind from j % 5, step from (j / 5) % 10 so that the two are independent.
DUE_SQL = """
INSERT INTO public.bench_due
SELECT md5('bench-due-' || j)::uuid, md5('bench-case-' || j)::uuid, $9, k.kind, k.dept, k.lim, st.step,
       ($4::float8[])[st.step + 1], $2::timestamptz + make_interval(secs => random() * $3::float8)
FROM generate_series($1::int, $8::int) j
CROSS JOIN LATERAL (SELECT (CASE WHEN (j / 5) % 10 < 4 THEN 0 WHEN (j / 5) % 10 < 6 THEN 1 ELSE 2 END) AS step) st
CROSS JOIN LATERAL (SELECT ($5::text[])[1 + j % 5] AS kind, ($6::float8[])[1 + j % 5] AS lim,
                           NULLIF(($7::text[])[1 + j % 5], '') AS dept) k
"""
DUE_DEADLINES_SQL = """
INSERT INTO cases.deadlines (id, case_id, department_code, kind, state, calendar, limit_seconds, started_at, due_at,
  provisional, next_step, next_fire_at, created_at)
SELECT deadline_id, case_id, department, kind, 'pending', 'natural', lim, s.started, s.started + make_interval(secs =>
  lim),
       false, step, scheduled, s.started
FROM public.bench_due CROSS JOIN LATERAL (SELECT scheduled - make_interval(secs => lim * fraction) AS started) s
WHERE phase = $1
"""


async def seed_pending(
    conn: asyncpg.Connection, lo: int, hi: int, now: datetime, warn_fraction: float, chunk: int = 100_000
) -> None:
    """Cases lo..hi (1-based, inclusive), two pending deadlines each."""
    start = lo
    while start <= hi:
        end = min(hi, start + chunk - 1)
        t = time.monotonic()
        await conn.execute(CASES_SQL, start, end, now)
        await conn.execute(PENDING_SQL, start, end, now, warn_fraction)
        print(
            f"    cases {start:,}..{end:,} and {2 * (end - start + 1):,} deadlines in {time.monotonic() - t:.1f} s",
            flush=True,
        )
        start = end + 1


async def vacuum(conn: asyncpg.Connection) -> float:
    t = time.monotonic()
    for table in ("cases.cases", "cases.deadlines", "cases.timeline", "cases.outbox"):
        await conn.execute(f"VACUUM (ANALYZE) {table}")
    return time.monotonic() - t


async def count_pending(conn: asyncpg.Connection) -> int:
    return int(await conn.fetchval("SELECT count(*) FROM cases.deadlines WHERE state = 'pending'"))


# --- case creation ---------------------------------------------------------------------------------

_KINDS = ("dispute",) * 6 + ("hazard", "request", "security")
_CATS = {
    "dispute": ("neighbour", "family", "land", "wages", "debt", "housing"),
    "hazard": ("fire_safety", "building_safety"),
    "request": ("social_assistance", "water_supply"),
    "security": ("theft", "fraud"),
}
_NAMES = ("王伟", "李芳", "张秀英", "刘强", "陈静", "杨洋", "赵敏", "黄磊", "周杰", "吴娟")


class Reports:
    """Varied report.submitted payloads; party hashes come from a pool so some parties recur (subjects link)."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.hashes = [f"{self.rng.getrandbits(256):064x}" for _ in range(3000)]
        self.n = 0

    def next(self) -> Any:
        from shared.contracts.events import PartyWire, ReportSubmitted

        rng = self.rng
        self.n += 1
        kind = rng.choice(_KINDS)
        parties = [
            PartyWire(
                name=rng.choice(_NAMES),
                role=("applicant", "respondent", "witness")[k],
                id_number_hash=rng.choice(self.hashes) if rng.random() < 0.8 else None,
                phone_hash=f"{rng.getrandbits(256):064x}",
            )
            for k in range(rng.choice((1, 2, 2, 3)))
        ]
        flags = ["violence_threat"] if rng.random() < 0.1 else (["mental_illness"] if rng.random() < 0.1 else [])
        now = datetime.now(UTC)
        return ReportSubmitted(
            report_id=str(uuid.uuid4()),
            report_no=f"BR{uuid.uuid4().hex[:16]}",
            worker_id="bench-worker",
            device_id="bench-phone",
            kind=kind,
            category=rng.choice(_CATS[kind]),
            title=f"基准事件 {self.n}",
            description="双方因宅基地边界问题多次发生争执，近日矛盾激化。网格员已到现场初步了解情况，并安抚双方情绪。",
            grid=rng.choice(GRIDS),
            location={"lat": 37.9, "lon": 102.6, "address": "大柳镇大柳村三组"},
            occurred_at=(now - timedelta(hours=3)).isoformat(),
            captured_at=now.isoformat(),
            received_at=now.isoformat(),
            parties=parties,
            people_involved=rng.randint(1, 8),
            flags=flags,
        )


async def create_one(db: Any, domain: Any, report: Any) -> float:
    from services.cases.case.service import create_from_report

    t = time.perf_counter()
    async with db.unit_of_work() as session:
        case_id = await create_from_report(session, report, domain)
    if case_id is None:
        raise RuntimeError("create_from_report made no case for a new report")
    return (time.perf_counter() - t) * 1000.0


class _CreateSql:
    """Wall time of each statement of a creation, by statement (its first words), and of those on cases.deadlines
    (the part of a creation that could grow with them)."""

    def __init__(self, db: Any) -> None:
        from sqlalchemy import event

        self.on = False
        self.ms = 0.0
        self.by_stmt: dict[str, float] = {}
        self._t: list[float] = []
        event.listen(db.engine.sync_engine, "before_cursor_execute", self._before)
        event.listen(db.engine.sync_engine, "after_cursor_execute", self._after)

    def _before(self, *a: Any) -> None:
        self._t.append(time.perf_counter())

    def _after(self, conn: Any, cursor: Any, statement: str, *a: Any) -> None:
        ms = (time.perf_counter() - self._t.pop()) * 1000.0
        if not self.on:
            return
        key = " ".join(statement.split())[:48]
        self.by_stmt[key] = self.by_stmt.get(key, 0.0) + ms
        if "cases.deadlines" in statement:
            self.ms += ms


async def measure_creates(
    db: Any, domain: Any, reports: Reports, n: int, timer: _CreateSql, warmup: int = 20
) -> tuple[list[float], list[float]]:
    """(ms per creation, ms of its statements on cases.deadlines), sequential; timer.by_stmt: ms per
    statement, summed."""
    for _ in range(warmup):
        await create_one(db, domain, reports.next())
    total, on_deadlines = [], []
    timer.by_stmt = {}
    timer.on = True
    try:
        for _ in range(n):
            timer.ms = 0.0
            total.append(await create_one(db, domain, reports.next()))
            on_deadlines.append(timer.ms)
    finally:
        timer.on = False
    return total, on_deadlines


# --- sweeper processes -----------------------------------------------------------------------------


class _FirstNow:
    """The system clock, remembering the first reading since `reset` (= sweep_once's `now`)."""

    def __init__(self) -> None:
        self.first: datetime | None = None

    def now(self) -> datetime:
        t = datetime.now(UTC)
        if self.first is None:
            self.first = t
        return t


_SQL_KINDS = (
    ("claim (SELECT ... FOR UPDATE SKIP LOCKED)", "SELECT d.id FROM cases.deadlines d JOIN"),
    ("load deadlines (id = ANY)", "FROM cases.deadlines WHERE id = ANY"),
    ("load cases (SELECT *)", "SELECT * FROM cases.cases WHERE id = ANY"),
    ("insert timeline", "INSERT INTO cases.timeline"),
    ("insert outbox", "INSERT INTO cases.outbox"),
    ("update deadlines (executemany)", "UPDATE cases.deadlines SET next_step"),
)


class _SqlTimer:
    """Per kind of statement of sweep_once: wall time (client side: send + server + receive) and this process's CPU
    (asyncpg and SQLAlchemy result handling; nothing else runs in a sweeper), the commit (ConnectionEvents.commit →
    Session after_commit), and the rest (Python: jobs.py, SQLAlchemy compile/parameters, JSON), over calls that
      fired."""

    def __init__(self, db: Any) -> None:
        from sqlalchemy import event
        from sqlalchemy.orm import Session

        self.totals: dict[str, list[float]] = {}
        self._cur: dict[str, list[float]] = {}
        self._t: list[tuple[float, float]] = []
        self._commit_t: tuple[float, float] | None = None
        engine = db.engine.sync_engine
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)
        event.listen(engine, "commit", self._commit)
        event.listen(Session, "after_commit", self._after_commit)

    def _add(self, kind: str, wall: float, cpu: float) -> None:
        acc = self._cur.setdefault(kind, [0.0, 0.0])
        acc[0] += wall
        acc[1] += cpu

    def _before(self, *a: Any) -> None:
        self._t.append((time.perf_counter(), time.process_time()))

    def _after(self, conn: Any, cursor: Any, statement: str, *a: Any) -> None:
        w, c = self._t.pop()
        kind = next((k for k, marker in _SQL_KINDS if marker in statement), "other SQL")
        self._add(kind, time.perf_counter() - w, time.process_time() - c)

    def _commit(self, *a: Any) -> None:
        self._commit_t = (time.perf_counter(), time.process_time())

    def _after_commit(self, *a: Any) -> None:
        if self._commit_t:
            w, c = self._commit_t
            self._add("commit", time.perf_counter() - w, time.process_time() - c)
            self._commit_t = None

    def begin(self) -> None:
        self._cur = {}
        self._call = (time.perf_counter(), time.process_time())

    def end(self, fired: int) -> None:
        if not fired:
            return
        w, c = self._call
        self._cur["(calls)"] = [time.perf_counter() - w, time.process_time() - c]
        self._cur["(actions)"] = [float(fired), float(fired)]
        for k, v in self._cur.items():
            acc = self.totals.setdefault(k, [0.0, 0.0])
            acc[0] += v[0]
            acc[1] += v[1]


def _sweeper_entry(idx: int, url: str, cfg: dict[str, Any], stop: Any, counter: Any, results: Any) -> None:
    logging.basicConfig(level=logging.WARNING)
    try:
        import uvloop

        run = uvloop.run
    except ImportError:
        run = asyncio.run
    try:
        results.put(("done", idx, run(_sweeper(idx, url, cfg, stop, counter, results))))
    except BaseException as exc:
        import traceback

        results.put(("error", idx, traceback.format_exc() or repr(exc)))


async def _sweeper(idx: int, url: str, cfg: dict[str, Any], stop: Any, counter: Any, results: Any) -> dict[str, Any]:
    from services.cases.deadline.jobs import sweep_once
    from shared.clock import clock
    from shared.db import Database

    rec = _FirstNow()
    clock.use(rec)
    db = Database(url, pool_size=2, application_name=f"bench-sweeper-{idx}")
    sql = _SqlTimer(db)
    if cfg.get("x_no_bitmapscan"):
        from sqlalchemy import event

        def _no_bitmap(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("SET enable_bitmapscan = off")
            cur.close()

        event.listen(db.engine.sync_engine, "connect", _no_bitmap)
    if cfg.get("x_cache_steps"):
        from services.cases.deadline.service import DeadlineEngine

        DeadlineEngine.steps = property(lambda self: self.__dict__.setdefault("_bench_steps", self.policy.steps()))  # type: ignore[method-assign]
    engine = build_domain().deadlines
    async with db.unit_of_work() as session:  # connect before reporting ready
        from sqlalchemy import text

        await session.execute(text("SELECT 1"))
    results.put(("ready", idx, os.getpid()))
    profiler = None
    if cfg.get("profile"):
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    calls: list[tuple[int, float, float, int]] = []  # (now µs of the sweep, wall start, wall end, fired)
    tick, rounds, batch = cfg["tick"], cfg["rounds"], cfg["batch"]
    next_tick = time.time() + random.random() * tick
    while not stop.is_set():
        delay = next_tick - time.time()
        if delay > 0:
            await asyncio.sleep(min(delay, 0.25))
            continue
        for _ in range(rounds):
            rec.first = None
            sql.begin()
            t0 = time.time()
            n = await sweep_once(db, engine, batch)
            t1 = time.time()
            sql.end(n)
            calls.append((to_us(rec.first) if rec.first else 0, t0, t1, n))
            if n:
                with counter.get_lock():
                    counter.value += n
            else:
                break
        now = time.time()
        while next_tick <= now:  # interval trigger, coalesced while a run overran
            next_tick += tick
    out: dict[str, Any] = {"calls": calls, "sql": sql.totals}
    if profiler is not None:
        profiler.disable()
        path = Path(cfg["profile"]) / f"sweeper-{idx}.prof"
        profiler.dump_stats(str(path))
        out["profile"] = str(path)
    await db.dispose()
    clock.reset()
    return out


# --- CPU accounting --------------------------------------------------------------------------------


def _proc_cpu(pid: int) -> float:
    try:
        t = psutil.Process(pid).cpu_times()
        return t.user + t.system
    except psutil.Error:
        return 0.0


def _postgres_pids() -> list[int]:
    out = []
    for p in psutil.process_iter(["name"]):
        if p.info["name"] == "postgres" or (p.info["name"] or "").startswith("postgres"):
            out.append(p.pid)
    return out


WAL_SQL = "SELECT wal_bytes, wal_fpi FROM pg_stat_wal"


async def _db_backend_pids(conn: asyncpg.Connection) -> list[int]:
    return [r["pid"] for r in await conn.fetch("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")]


class CpuSnap:
    def __init__(self, sweeper_pids: list[int], backend_pids: list[int], wal: Any = None) -> None:
        self.wal = (float(wal["wal_bytes"]), float(wal["wal_fpi"])) if wal else (0.0, 0.0)
        self.wall = time.monotonic()
        self.main = _proc_cpu(os.getpid())
        self.sweepers = {p: _proc_cpu(p) for p in sweeper_pids}
        self.backends = {p: _proc_cpu(p) for p in backend_pids}
        self.pg_all = {p: _proc_cpu(p) for p in _postgres_pids()}
        t = psutil.cpu_times()
        self.machine = t.user + t.system + getattr(t, "nice", 0.0) + getattr(t, "irq", 0.0) + getattr(t, "softirq", 0.0)


def cpu_delta(a: CpuSnap, b: CpuSnap) -> dict[str, float]:
    secs = max(b.wall - a.wall, 1e-9)
    sweepers = sum(v - a.sweepers.get(p, 0.0) for p, v in b.sweepers.items())
    backends = sum(v - a.backends.get(p, 0.0) for p, v in b.backends.items())
    pg_all = sum(v - a.pg_all.get(p, 0.0) for p, v in b.pg_all.items())
    main = b.main - a.main
    machine = b.machine - a.machine
    return {
        "sweepers": sweepers / secs,
        "main (case stream)": main / secs,
        "postgres (this db's backends)": backends / secs,
        "postgres (all processes)": pg_all / secs,
        "other on machine": max(0.0, machine - sweepers - main - pg_all) / secs,
        "machine": machine / secs,
        "(WAL MB/s, cluster-wide)": (b.wal[0] - a.wal[0]) / secs / 1e6,
        "(WAL full-page images/s)": (b.wal[1] - a.wal[1]) / secs,
    }


# --- the sweep -------------------------------------------------------------------------------------


def actions_per_deadline(steps: list[Any]) -> float:
    """Mean actions a due deadline of the seeded mix fires: 60% one warning, 40% the breach plus the +0 rungs."""
    at_breach = 1 + sum(1 for s in steps[3:] if s.after == 0)
    return 0.6 + 0.4 * at_breach


async def expected_steps(
    conn: asyncpg.Connection, engine: Any, phase: str, horizon: datetime
) -> dict[Any, dict[str, Any]]:
    """Per due deadline of `phase`: the steps that must fire (index, action, scheduled time), from
    DeadlineEngine.fire_time of the seeded row. Reads only columns the sweep does not change. Fails if a
    later step falls before `horizon`."""
    from services.cases.deadline.service import DeadlineRow

    steps = engine.steps
    rows = await conn.fetch(
        """SELECT d.id, d.case_id, d.kind, d.calendar, d.limit_seconds, d.started_at, d.due_at, b.step AS next_step,
          b.scheduled
           FROM public.bench_due b JOIN cases.deadlines d ON d.id = b.deadline_id WHERE b.phase = $1""",
        phase,
    )
    out: dict[Any, dict[str, Any]] = {}
    for r in rows:
        data = DeadlineRow(dict(r))
        step = r["next_step"]
        fires = []
        while step < len(steps):
            at = engine.fire_time(data, step)
            if at is None or at > r["scheduled"]:
                break
            fires.append((step, steps[step].action, at))
            step += 1
        nxt = engine.fire_time(data, step)
        if nxt is not None and nxt <= horizon:
            raise RuntimeError(
                f"seeding: step {step} of deadline {r['id']} ({r['kind']}) falls at {nxt}, inside the run; "
                "use a shorter window"
            )
        if not fires or fires[0][2] != r["scheduled"]:
            raise RuntimeError(
                f"seeding: deadline {r['id']} first fires at {fires[0][2] if fires else None}, seeded {r['scheduled']}"
            )
        out[r["case_id"]] = {
            "id": r["id"],
            "phase": phase,
            "fires": fires,
            "next_step": step,
            "breach": any(a == "breach" for _, a, _ in fires),
        }
    return out


async def case_stream(
    db: Any,
    domain: Any,
    reports: Reports,
    rate: float,
    stop: asyncio.Event,
    lat: list[tuple[float, float]],
    errors: list[str],
) -> None:
    """Open loop: one creation every 1/rate s, each its own task (at most 20 in flight). lat: (wall start, ms)."""
    if rate <= 0:
        return
    sem = asyncio.Semaphore(20)
    tasks: set[asyncio.Task[None]] = set()

    async def one() -> None:
        async with sem:
            t = time.time()
            try:
                lat.append((t, await create_one(db, domain, reports.next())))
            except Exception as exc:
                errors.append(repr(exc))

    period = 1.0 / rate
    t = time.monotonic()
    while not stop.is_set():
        task = asyncio.create_task(one())
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        t += period
        await asyncio.sleep(max(0.0, t - time.monotonic()))
    if tasks:
        await asyncio.gather(*tasks)


class Sweepers:
    """The sweeper processes and their shared counters."""

    def __init__(self, url: str, n: int, cfg: dict[str, Any]) -> None:
        ctx = mp.get_context("spawn")
        self.stop = ctx.Event()
        self.results = ctx.Queue()
        self.counters = [ctx.Value("q", 0) for _ in range(n)]
        self.procs = [
            ctx.Process(
                target=_sweeper_entry, args=(i, url, cfg, self.stop, self.counters[i], self.results), daemon=True
            )
            for i in range(n)
        ]
        self.pids: list[int] = []

    async def start(self) -> None:
        for p in self.procs:
            p.start()
        for _ in self.procs:
            kind, idx, value = await asyncio.to_thread(self.results.get, True, 120)
            if kind != "ready":
                raise RuntimeError(f"sweeper {idx} failed to start:\n{value}")
            self.pids.append(value)

    def fired(self) -> int:
        return sum(c.value for c in self.counters)

    def alive(self) -> bool:
        return all(p.is_alive() for p in self.procs)

    async def finish(self) -> dict[int, dict[str, Any]]:
        self.stop.set()
        out: dict[int, dict[str, Any]] = {}
        for _ in self.procs:
            kind, idx, value = await asyncio.to_thread(self.results.get, True, 120)
            if kind == "error":
                raise RuntimeError(f"sweeper {idx} failed:\n{value}")
            if kind == "done":
                out[idx] = value
        return out

    def close(self) -> None:
        self.stop.set()
        for p in self.procs:
            p.join(timeout=30)
            if p.is_alive():
                p.terminate()
                p.join(timeout=5)


async def seed_due(
    conn: asyncpg.Connection, engine: Any, phase: str, lo: int, hi: int, base: datetime, spread: float
) -> float:
    steps = engine.steps
    fractions = [st.fraction for st in steps[:3]]
    t = time.monotonic()
    await conn.execute(
        DUE_SQL,
        lo,
        base,
        spread,
        fractions,
        [k for k, _, _ in DUE_KINDS],
        [lim for _, lim, _ in DUE_KINDS],
        [d or "" for _, _, d in DUE_KINDS],
        hi,
        phase,
    )
    await conn.execute(DUE_DEADLINES_SQL, phase)
    return time.monotonic() - t


async def wait_fired(sw: Sweepers, target: int, until: datetime, label: str, progress: Any = None) -> None:
    last = time.monotonic()
    while sw.fired() < target and datetime.now(UTC) < until and sw.alive():
        if time.monotonic() - last >= 5:
            last = time.monotonic()
            print(f"    {label}: fired {sw.fired():,}/{target:,}" + (f", {progress()}" if progress else ""), flush=True)
        await asyncio.sleep(0.05)


async def run_sweep(
    url: str,
    conn: asyncpg.Connection,
    db: Any,
    domain: Any,
    reports: Reports,
    args: argparse.Namespace,
    cfg: dict[str, Any],
    seed_rate: float,
) -> dict[str, Any]:
    engine = domain.deadlines
    steps = engine.steps
    if [st.action for st in steps[:3]] != ["warning", "warning", "breach"]:
        raise RuntimeError(
            f"the bench seeds steps 0-2 as warning, warning, breach; the policy has {[st.action for st in steps]}"
        )
    per = actions_per_deadline(steps)
    due, backlog = args.deadlines_due, args.deadlines_backlog
    window = float(args.deadlines_window or due * per / args.deadlines_rate)
    drain = float(args.deadlines_drain)
    sw = Sweepers(url, args.deadlines_sweepers, cfg)
    out: dict[str, Any] = {"window": window}
    await conn.execute(DUE_TABLE_SQL)
    stream_stop = asyncio.Event()
    stream_lat: list[tuple[float, float]] = []
    stream_err: list[str] = []
    stream: asyncio.Task[None] | None = None
    try:
        await sw.start()
        print(
            f"  {len(sw.procs)} sweepers ticking every {cfg['tick']} s (batch {cfg['batch']}, <= {cfg['rounds']} "
            "rounds/tick); "
            f"case stream {args.deadlines_stream_rate:g}/s",
            flush=True,
        )
        stream = asyncio.create_task(
            case_stream(db, domain, reports, args.deadlines_stream_rate, stream_stop, stream_lat, stream_err)
        )
        out["pending_at_sweep"] = await count_pending(conn)

        # a. capacity: a backlog overdue at once
        exp: dict[Any, dict[str, Any]] = {}
        if backlog:
            await asyncio.sleep(max(1.0, float(args.warmup)))
            snap0 = CpuSnap(sw.pids, await _db_backend_pids(conn), await conn.fetchrow(WAL_SQL))
            now = datetime.now(UTC)
            secs = await seed_due(conn, engine, "backlog", 1, backlog, now - timedelta(seconds=60), 59.0)
            out["backlog_committed"] = time.time()
            exp_b = await expected_steps(conn, engine, "backlog", now + timedelta(seconds=drain + 60))
            exp.update(exp_b)
            out["backlog_expected"] = sum(len(e["fires"]) for e in exp_b.values())
            print(
                f"  capacity: {backlog:,} overdue deadlines ({out['backlog_expected']:,} actions) committed in "
                f"{secs:.1f} s",
                flush=True,
            )
            await wait_fired(sw, out["backlog_expected"], datetime.now(UTC) + timedelta(seconds=drain), "backlog")
            out["backlog_done"] = time.time()
            out["cpu_backlog"] = cpu_delta(
                snap0, CpuSnap(sw.pids, await _db_backend_pids(conn), await conn.fetchrow(WAL_SQL))
            )
            if sw.fired() < out["backlog_expected"]:
                raise RuntimeError(
                    f"the backlog did not drain within {drain:g} s ({sw.fired():,}/{out['backlog_expected']:,})"
                )
        fired_before = sw.fired()

        # b. lateness: due uniformly over the window, from `base` (leaves time to write them, from the bulk seeding
        # rate)
        lead = max(2.0, float(args.warmup)) + 2.0 * due / max(seed_rate, 1.0) + due / 50_000 + 1.0
        base = datetime.now(UTC) + timedelta(seconds=lead)
        secs = await seed_due(conn, engine, "window", backlog + 1, backlog + due, base, window)
        seeded_at = datetime.now(UTC)
        exp_w = await expected_steps(conn, engine, "window", base + timedelta(seconds=window + drain + 60))
        exp.update(exp_w)
        expected_w = sum(len(e["fires"]) for e in exp_w.values())
        print(
            f"  lateness: {due:,} deadlines ({expected_w:,} actions, {expected_w / window:,.0f}/s offered) due from "
            f"{base:%H:%M:%S} over {window:.1f} s, written in {secs:.1f} s"
            + (f" ({(seeded_at - base).total_seconds():.2f} s after the first was due!)" if seeded_at > base else ""),
            flush=True,
        )
        await asyncio.sleep(max(0.0, (base - datetime.now(UTC)).total_seconds()))
        snap0 = CpuSnap(sw.pids, await _db_backend_pids(conn), await conn.fetchrow(WAL_SQL))
        t_base = base.timestamp()
        await wait_fired(
            sw,
            fired_before + expected_w,
            base + timedelta(seconds=window + drain),
            "window",
            lambda: (
                f"due so far ~{min(1.0, (time.time() - t_base) / window) * expected_w:,.0f}, "
                f"t+{time.time() - t_base:.1f} s"
            ),
        )
        out["cpu_window"] = cpu_delta(
            snap0, CpuSnap(sw.pids, await _db_backend_pids(conn), await conn.fetchrow(WAL_SQL))
        )
        stream_stop.set()
        await stream
        stream = None
        sweeps = await sw.finish()
        out.update(
            stream_err=stream_err,
            base=base,
            exp=exp,
            expected_window=expected_w,
            expected_total=sum(len(e["fires"]) for e in exp.values()),
            sweeps=sweeps,
            stream_lat=stream_lat,
            seeded_late=(seeded_at - base).total_seconds(),
        )
    finally:
        stream_stop.set()
        if stream is not None:
            await stream
        sw.close()
    return out


async def verify(conn: asyncpg.Connection, run: dict[str, Any]) -> dict[str, Any]:
    """Exactly-once and lateness, from the timeline and the outbox."""
    exp: dict[Any, dict[str, Any]] = run["exp"]
    commit_of: dict[int, float] = {}
    calls = []
    for idx, s in run["sweeps"].items():
        for now_us, t0, t1, n in s["calls"]:
            calls.append((idx, now_us, t0, t1, n))
            if n:
                commit_of[now_us] = t1

    rows = await conn.fetch(
        "SELECT id, case_id, at, action FROM cases.timeline WHERE actor = 'system:clock' ORDER BY case_id, id"
    )
    by_case: dict[Any, list[Any]] = {}
    for r in rows:
        by_case.setdefault(r["case_id"], []).append(r)
    lat_rec: list[float] = []
    lat_vis: list[float] = []
    lat_by_action: dict[str, list[float]] = {}
    unknown_now = missing = extra = wrong = 0
    for case_id, e in exp.items():
        got = by_case.pop(case_id, [])
        missing += max(0, len(e["fires"]) - len(got))
        extra += max(0, len(got) - len(e["fires"]))
        for (_step, action, scheduled), r in zip(e["fires"], got, strict=False):
            if TIMELINE_ACTION.get(action, action) != r["action"]:
                wrong += 1
            if e["phase"] != "window":
                continue
            late = (r["at"] - scheduled).total_seconds()
            lat_rec.append(late)
            lat_by_action.setdefault(action, []).append(late)
            commit = commit_of.get(to_us(r["at"]))
            if commit is None:
                unknown_now += 1
            else:
                lat_vis.append(commit - scheduled.timestamp())
    unexpected = sum(len(v) for v in by_case.values())  # fired on cases without a due deadline

    final = {
        r["id"]: r
        for r in await conn.fetch(
            "SELECT d.id, d.next_step, d.state, d.breached_at FROM cases.deadlines d JOIN public.bench_due b ON "
            "b.deadline_id = d.id"
        )
    }
    bad_state = 0
    for e in exp.values():
        f = final.get(e["id"])
        want_state = "breached" if e["breach"] else "pending"
        if (
            f is None
            or f["next_step"] != e["next_step"]
            or f["state"] != want_state
            or (e["breach"] and f["breached_at"] is None)
        ):
            bad_state += 1
    dup_events = int(
        await conn.fetchval(
            """SELECT count(*) FROM (SELECT 1 FROM cases.outbox WHERE type IN ('deadline.warning',
              'deadline.breached', 'deadline.reminded')
           GROUP BY payload->>'deadline_id', type, payload->>'step', payload->>'fraction' HAVING count(*) > 1) t"""
        )
    )
    step_events = int(
        await conn.fetchval(
            "SELECT count(*) FROM cases.outbox WHERE type IN ('deadline.warning', 'deadline.breached', "
            "'deadline.reminded')"
        )
    )
    # the claim afterwards, with nothing due: what every idle tick costs once the fired rows' old index entries
    # (next_fire_at in the past) are dead but not yet vacuumed
    from services.cases.deadline.repository import CLAIM_DUE

    claim_sql = CLAIM_DUE.text.replace(":now", "$1").replace(":n", "$2")
    plan = await conn.fetchval("EXPLAIN (FORMAT JSON) " + claim_sql, datetime.now(UTC), 500)
    idle_ms = []
    for _ in range(5):
        async with conn.transaction():
            t = time.perf_counter()
            await conn.fetch(claim_sql, datetime.now(UTC), 500)
            idle_ms.append((time.perf_counter() - t) * 1000)
    stats = await conn.fetchrow(
        "SELECT n_dead_tup, n_live_tup, autovacuum_count FROM pg_stat_user_tables WHERE relid = "
        "'cases.deadlines'::regclass"
    )
    return {
        "claim_plan_bitmap": "Bitmap Heap Scan" in str(plan),
        "idle_claim_ms": pct(idle_ms, 50),
        "deadlines_dead_tuples": stats["n_dead_tup"],
        "deadlines_autovacuums": stats["autovacuum_count"],
        "calls": calls,
        "timeline_rows": len(rows),
        "lat_rec": lat_rec,
        "lat_vis": lat_vis,
        "lat_by_action": lat_by_action,
        "missing": missing,
        "extra": extra,
        "wrong_action": wrong,
        "unexpected": unexpected,
        "bad_state": bad_state,
        "dup_events": dup_events,
        "step_events": step_events,
        "unknown_now": unknown_now,
    }


def phase_rate(
    calls: list[tuple[int, int, float, float, int]], lo: float, hi: float
) -> tuple[int, float, list[float], list[int], dict[int, float]]:
    """Fired actions, seconds from the first firing sweep_once's start to the last one's end, their durations (ms) and
    batch sizes, and each sweeper's time inside sweep_once, for calls that ended in [lo, hi]."""
    firing = [c for c in calls if c[4] and lo <= c[3] <= hi]
    if not firing:
        return 0, 0.0, [], [], {}
    start, end = min(c[2] for c in firing), max(c[3] for c in firing)
    busy: dict[int, float] = {}
    for idx, _, t0, t1, _ in calls:
        if t1 >= start and t0 <= end:
            busy[idx] = busy.get(idx, 0.0) + min(t1, end) - max(t0, start)
    return sum(c[4] for c in firing), end - start, [(c[3] - c[2]) * 1000 for c in firing], [c[4] for c in firing], busy


def print_profile(paths: list[str], top: int = 35) -> None:
    import pstats

    if not paths:
        return
    stats = pstats.Stats(paths[0])
    for p in paths[1:]:
        stats.add(p)
    stats.strip_dirs()
    for key in ("tottime", "cumulative"):
        print(f"\n  --- cProfile of the sweepers (summed), top {top} by {key} ---", flush=True)
        stats.sort_stats(key).print_stats(top)


# --- main ------------------------------------------------------------------------------------------


def _profile_dir(name: str) -> Path:
    path = Path(name).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


async def main(args: argparse.Namespace) -> dict[str, Any]:
    from sqlalchemy.engine import make_url

    from services.cases.config import CasesSettings
    from shared.db import Database

    logging.getLogger("cases.calendar").setLevel(logging.WARNING)
    defaults = CasesSettings.model_fields
    batch = args.deadlines_batch or int(defaults["sweep_batch"].default)
    tick = args.deadlines_tick or float(defaults["sweep_interval_seconds"].default)
    n_cases, n_small = args.deadlines_pending // 2, min(args.deadlines_small, args.deadlines_pending) // 2
    if args.deadlines_backlog + args.deadlines_due > n_cases:
        raise RuntimeError(f"--deadlines-backlog + --deadlines-due must be at most the seeded cases ({n_cases:,})")
    dbname = args.deadlines_database
    if not dbname.startswith("fengqiao_bench"):
        raise RuntimeError("--deadlines-database must start with fengqiao_bench (it is dropped and recreated)")
    profile_dir = None
    if args.deadlines_profile:
        profile_dir = _profile_dir(args.deadlines_profile)
    cfg = {
        "tick": tick,
        "batch": batch,
        "rounds": args.deadlines_rounds,
        "profile": str(profile_dir) if profile_dir else None,
        "x_no_bitmapscan": args.deadlines_x_no_bitmapscan,
        "x_cache_steps": args.deadlines_x_cache_steps,
    }
    experiments = [
        name
        for name, on in (
            ("enable_bitmapscan=off for the sweepers", args.deadlines_x_no_bitmapscan),
            ("DeadlineEngine.steps cached", args.deadlines_x_cache_steps),
        )
        if on
    ]

    started = time.monotonic()
    url = await prepare_database(dbname)
    print(f"  database {dbname} migrated in {time.monotonic() - started:.1f} s", flush=True)
    domain = build_domain()
    warn_fraction = domain.deadlines.steps[0].fraction
    conn = await asyncpg.connect(asyncpg_dsn(url))
    db = Database(url, pool_size=10, application_name="bench-deadlines")
    figures: dict[str, Any] = {}
    notes: list[str] = []
    try:
        await conn.execute(AREAS_SQL, COUNTY, TOWNSHIP, VILLAGE)
        for n, g in enumerate(GRIDS, 1):
            await conn.execute(GRID_SQL, g, f"第{n}网格", VILLAGE, [COUNTY, TOWNSHIP, VILLAGE, g])
        now = datetime.now(UTC)
        reports = Reports(20261122)

        print(f"  seeding {2 * n_small:,} pending deadlines", flush=True)
        await seed_pending(conn, 1, n_small, now, warn_fraction)
        await vacuum(conn)
        pending_small = await count_pending(conn)
        timer = _CreateSql(db)
        lat_small, dl_small = await measure_creates(db, domain, reports, args.deadlines_creates, timer)
        print(
            f"  create_from_report at {pending_small:,} pending: p50 {pct(lat_small, 50):.1f} ms, p99 "
            f"{pct(lat_small, 99):.1f} ms "
            f"(statements on cases.deadlines: p50 {pct(dl_small, 50):.2f} ms)",
            flush=True,
        )

        print(f"  seeding up to {2 * n_cases:,} pending deadlines", flush=True)
        t = time.monotonic()
        await seed_pending(conn, n_small + 1, n_cases, now, warn_fraction)
        seed_bulk_s = time.monotonic() - t
        bulk_rows = 2 * (n_cases - n_small)
        vac_s = await vacuum(conn)
        seed_rate = bulk_rows / max(seed_bulk_s, 1e-9)
        print(
            f"  {bulk_rows:,} deadlines (+{n_cases - n_small:,} cases) in {seed_bulk_s:.1f} s ({seed_rate:,.0f} "
            "deadlines/s), "
            f"VACUUM ANALYZE {vac_s:.1f} s",
            flush=True,
        )
        pending_big = await count_pending(conn)
        stmt_small = dict(timer.by_stmt)
        lat_big, dl_big = await measure_creates(db, domain, reports, args.deadlines_creates, timer)
        stmt_big = dict(timer.by_stmt)
        print(
            f"  create_from_report at {pending_big:,} pending: p50 {pct(lat_big, 50):.1f} ms, p99 "
            f"{pct(lat_big, 99):.1f} ms "
            f"(statements on cases.deadlines: p50 {pct(dl_big, 50):.2f} ms)",
            flush=True,
        )

        run = await run_sweep(url, conn, db, domain, reports, args, cfg, seed_rate)
        v = await verify(conn, run)

        calls = v["calls"]
        base_ts, window = run["base"].timestamp(), run["window"]
        # the window phase: actions handled per second from the first due moment to the last firing commit
        fired_w, _, call_ms_w, batches_w, busy_w = phase_rate(calls, base_ts, float("inf"))
        last_w = max((c[3] for c in calls if c[4] and c[3] >= base_ts), default=base_ts)
        handled_w = fired_w / max(last_w - base_ts, 1e-9)
        busy_frac_w = (sum(busy_w.values()) / max(len(busy_w), 1)) / max(last_w - base_ts, 1e-9)
        if args.deadlines_backlog:
            fired_b, secs_b, call_ms_b, batches_b, busy_b = phase_rate(calls, run["backlog_committed"], base_ts)
            capacity = fired_b / max(secs_b, 1e-9)
            busy_frac_b = (sum(busy_b.values()) / max(len(busy_b), 1)) / max(secs_b, 1e-9)
        else:
            fired_b, secs_b, call_ms_b, batches_b, busy_frac_b, capacity = 0, 0.0, [], [], 0.0, handled_w
        fired = sum(c[4] for c in calls)
        lr, lv = v["lat_rec"], v["lat_vis"]
        exactly_once = (
            v["missing"] == 0
            and v["extra"] == 0
            and v["wrong_action"] == 0
            and v["unexpected"] == 0
            and v["bad_state"] == 0
            and v["dup_events"] == 0
            and fired == run["expected_total"] == v["timeline_rows"]
            and v["step_events"] == run["expected_total"]
        )
        stream_b = [ms for t0, ms in run["stream_lat"] if t0 < base_ts]
        stream_w = [ms for t0, ms in run["stream_lat"] if t0 >= base_ts]

        p50_s, p50_b = pct(lat_small, 50), pct(lat_big, 50)
        figures.update(
            {
                "pending_small": pending_small,
                "create_ms_p50_at_small": round(p50_s, 2),
                "create_ms_p99_at_small": round(pct(lat_small, 99), 2),
                "pending_big": pending_big,
                "create_ms_p50_at_big": round(p50_b, 2),
                "create_ms_p99_at_big": round(pct(lat_big, 99), 2),
                "create_p50_ratio_big_small": round(p50_b / p50_s, 3) if p50_s else float("nan"),
                "create_deadline_sql_ms_p50_at_small": round(pct(dl_small, 50), 2),
                "create_deadline_sql_ms_p50_at_big": round(pct(dl_big, 50), 2),
                "create_sql_ms_per_case_small_to_big": {
                    k: f"{stmt_small.get(k, 0.0) / len(lat_small):.2f} -> {stmt_big.get(k, 0.0) / len(lat_big):.2f}"
                    for k in sorted(
                        set(stmt_small) | set(stmt_big), key=lambda k: -(stmt_big.get(k, 0.0) + stmt_small.get(k, 0.0))
                    )[:10]
                },
                "seed_deadlines_per_s": round(seed_rate),
                "seed_bulk_s": round(seed_bulk_s, 1),
                "pending_at_sweep": run["pending_at_sweep"],
                "sweepers": len(run["sweeps"]),
                "sweep_tick_s": tick,
                "sweep_batch": batch,
                "backlog_deadlines": args.deadlines_backlog,
                "backlog_actions": fired_b,
                "backlog_drain_s": round(secs_b, 2),
                "actions_per_s": round(capacity),
                "backlog_sweeper_busy": round(busy_frac_b, 3),
                "backlog_sweep_once_ms_p50": round(pct(call_ms_b, 50), 1),
                "backlog_sweep_once_fired_mean": round(sum(batches_b) / max(len(batches_b), 1), 1),
                "window_deadlines": len([e for e in run["exp"].values() if e["phase"] == "window"]),
                "window_s": round(window, 2),
                "window_actions": fired_w,
                "window_offered_per_s": round(run["expected_window"] / window),
                "window_handled_per_s": round(handled_w),
                "window_sweeper_busy": round(busy_frac_w, 3),
                "window_sweep_once_ms_p50": round(pct(call_ms_w, 50), 1),
                "window_sweep_once_ms_p99": round(pct(call_ms_w, 99), 1),
                "window_sweep_once_fired_mean": round(sum(batches_w) / max(len(batches_w), 1), 1),
                "lateness_s_p50": round(pct(lr, 50), 3),
                "lateness_s_p99": round(pct(lr, 99), 3),
                "lateness_s_max": round(max(lr, default=float("nan")), 3),
                "lateness_commit_s_p50": round(pct(lv, 50), 3),
                "lateness_commit_s_p99": round(pct(lv, 99), 3),
                "lateness_commit_s_max": round(max(lv, default=float("nan")), 3),
                "exactly_once": exactly_once,
                "actions_fired_total": fired,
                "missing": v["missing"],
                "duplicates": v["extra"] + v["dup_events"],
                "unexpected": v["unexpected"],
                "wrong_action": v["wrong_action"],
                "bad_final_state": v["bad_state"],
                "claim_plan_bitmap_heap_scan": v["claim_plan_bitmap"],
                "claim_ms_after_with_nothing_due": round(v["idle_claim_ms"], 1),
                "deadlines_dead_tuples_after": v["deadlines_dead_tuples"],
                "deadlines_autovacuums": v["deadlines_autovacuums"],
                "stream_creates": len(run["stream_lat"]),
                "stream_errors": len(run["stream_err"]),
                "stream_create_ms_p50_backlog": round(pct(stream_b, 50), 2),
                "stream_create_ms_p99_backlog": round(pct(stream_b, 99), 2),
                "stream_create_ms_p50_window": round(pct(stream_w, 50), 2),
                "stream_create_ms_p99_window": round(pct(stream_w, 99), 2),
                "lateness_s_p99_by_step": {a: round(pct(x, 99), 3) for a, x in sorted(v["lat_by_action"].items())},
            }
        )
        sql: dict[str, list[float]] = {}
        for sweep in run["sweeps"].values():
            for k, (w, c) in sweep.get("sql", {}).items():
                acc = sql.setdefault(k, [0.0, 0.0])
                acc[0] += w
                acc[1] += c
        n_act = sql.pop("(actions)", [0.0, 0.0])[0]
        total = sql.pop("(calls)", [0.0, 0.0])
        if n_act:
            k_ms = 1e6 / n_act  # seconds per n_act actions -> ms per 1000 actions
            rows = sorted(sql.items(), key=lambda kv: -kv[1][0])
            figures["sweep_once_wall_ms_per_1000_actions"] = {k: round(w * k_ms, 1) for k, (w, _) in rows}
            figures["sweep_once_wall_ms_per_1000_actions"]["rest (Python)"] = round(
                (total[0] - sum(w for w, _ in sql.values())) * k_ms, 1
            )
            figures["sweep_once_wall_ms_per_1000_actions"]["total"] = round(total[0] * k_ms, 1)
            figures["sweeper_cpu_ms_per_1000_actions"] = {k: round(c * k_ms, 1) for k, (_, c) in rows}
            figures["sweeper_cpu_ms_per_1000_actions"]["rest (Python)"] = round(
                (total[1] - sum(c for _, c in sql.values())) * k_ms, 1
            )
            figures["sweeper_cpu_ms_per_1000_actions"]["total"] = round(total[1] * k_ms, 1)
        if "cpu_backlog" in run:
            figures["cpu_cores_backlog"] = {k: round(x, 2) for k, x in run["cpu_backlog"].items()}
        figures["cpu_cores_window"] = {k: round(x, 2) for k, x in run["cpu_window"].items()}
        how = "backlog drain" if args.deadlines_backlog else "window"
        window_rate = run["expected_window"] / window
        figures["targets"] = {
            f">= {TARGET_ACTIONS_PER_S:,.0f} deadline actions/s ({how}, {len(run['sweeps'])} sweepers)": capacity
            >= TARGET_ACTIONS_PER_S,
            f"lateness p99 <= {TARGET_LATENESS_P99_S:g} s at {window_rate:,.0f} actions/s"
            " (timeline at - scheduled)": pct(lr, 99) <= TARGET_LATENESS_P99_S,
            f"lateness p99 <= {TARGET_LATENESS_P99_S:g} s at commit (when it becomes visible)": bool(lv)
            and pct(lv, 99) <= TARGET_LATENESS_P99_S,
            f"case creation not slower at {pending_big:,} than at {pending_small:,} pending"
            f" (p50 <= {SLOWDOWN_FACTOR}x + {SLOWDOWN_SLACK_MS:g} ms)": p50_b
            <= p50_s * SLOWDOWN_FACTOR + SLOWDOWN_SLACK_MS,
            "every due step fired exactly once": exactly_once,
        }
        if run["seeded_late"] > 0:
            notes.append(
                f"the window set was written {run['seeded_late']:.2f} s after its first deadline was due: early "
                "lateness is inflated"
            )
        if run["stream_err"]:
            notes.append(
                f"{len(run['stream_err'])} case creations of the stream failed under load (not counted), first: "
                f"{run['stream_err'][0]}"
            )
        if v["unknown_now"]:
            notes.append(
                f"{v['unknown_now']} timeline rows could not be matched to a sweep call (no commit lateness for them)"
            )
        if fired_w < run["expected_window"]:
            notes.append(f"the window's sweep did not finish within the window + {args.deadlines_drain:g} s drain")
        if run["expected_window"] / window > capacity * 0.95:
            notes.append("the window offers about the capacity or more: lateness then grows with the window's length")
        for phase in ("cpu_backlog", "cpu_window"):
            other = run.get(phase, {}).get("other on machine", 0.0)
            if other > 0.2:
                notes.append(
                    f"other work on the machine used {other:.2f} cores during {phase[4:]}; figures are pessimistic"
                )
        notes.append(f"machine: {psutil.cpu_count()} cores; sweepers, case stream and PostgreSQL share them")
        notes.append(f"lateness includes waiting for the next tick (every {tick:g} s per sweeper)")
        if experiments:
            figures["experiments"] = ", ".join(experiments)
            notes.insert(
                0, f"EXPERIMENT ({', '.join(experiments)}): the sweep figures are not those of the product as is"
            )
        figures["notes"] = notes

        print("\n  --- summary ---")
        print(
            f"  case creation: p50 {p50_s:.1f} ms / p99 {pct(lat_small, 99):.1f} ms at {pending_small:,} pending; "
            f"p50 {p50_b:.1f} ms / p99 {pct(lat_big, 99):.1f} ms at {pending_big:,} pending"
        )
        if args.deadlines_backlog:
            print(
                f"  capacity: {fired_b:,} overdue actions in {secs_b:.1f} s = {capacity:,.0f}/s, sweepers busy "
                f"{busy_frac_b:.0%}"
            )
        print(
            f"  window: {fired_w:,} actions offered at {run['expected_window'] / window:,.0f}/s, handled "
            f"{handled_w:,.0f}/s, "
            f"sweepers busy {busy_frac_w:.0%}"
        )
        print(
            f"  lateness (timeline at): p50 {pct(lr, 50):.3f} s, p99 {pct(lr, 99):.3f} s, max "
            f"{max(lr, default=0):.3f} s; "
            f"at commit: p50 {pct(lv, 50):.3f} s, p99 {pct(lv, 99):.3f} s"
        )
        print(
            f"  exactly once: {exactly_once} (missing {v['missing']}, extra {v['extra']}, duplicate events "
            f"{v['dup_events']}, "
            f"unexpected {v['unexpected']}, wrong action {v['wrong_action']}, bad final state {v['bad_state']})"
        )
        for desc, met in figures["targets"].items():
            print(f"  [{'MET   ' if met else 'MISSED'}] {desc}")
        if profile_dir:
            print_profile([s["profile"] for s in run["sweeps"].values() if s.get("profile")])
    finally:
        await conn.close()
        await db.dispose()
        if not args.deadlines_keep and make_url(url).database == dbname:
            admin = await asyncpg.connect(asyncpg_dsn(url, "postgres"))
            try:
                await admin.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
            finally:
                await admin.close()
    return figures


if __name__ == "__main__":
    from run_all import run_standalone

    raise SystemExit(run_standalone(sys.modules[__name__]))
