"""The whole pipeline: phones push flat out, reports → cases → feed and notifications, 1 vs 2 processes.

What it does (all on 127.0.0.1, in its own database `fengqiao_bench_pipeline`, recreated empty):
1. `alembic upgrade head`, the demo org's areas plus `--pipeline-phones` (8) grid workers imported with
   `python -m services.cases import-org` (as bench_push.py does).
2. Per scenario (`--pipeline-processes`, default "1,2": WORKERS of cases and of notify; intake runs one
   process, as a user starts it): the three services started as a user starts them
   (`python -m services.intake|cases|notify`, separate processes, defaults, every relay running).
   The phones push `--pipeline-batches` (15) batches of `--pipeline-batch` (50) case-making reports each
   (8 × 15 × 50 = 6,000, as the issue measured), flat out, one batch after another per phone.
3. It then watches the database until every report is a case, every case's `report.status` is in its
   worker's feed and nothing waits in cases' outbox, and prints:
   - intake's accept rate (reports accepted / first push to last answer), with the pipeline running;
   - reports → cases per second end to end (first push to the moment the last case was visible);
   - reports → `report.status` in the feed per second (first push to the last feed row seen);
   - notifications made per second (first push to the last notification seen) and how many;
   - the delay push → case per report, p50/p99 (case created_at − intake's received_at);
   - CPU ms per report through the whole pipeline, per part (intake, cases, notify, PostgreSQL, the phones) and
     in all, and the rate the machine's cores could carry at that cost doing nothing else.
   `--pipeline-runs` (1) repeats each scenario on a fresh start of the services; the medians are reported.
4. The raw COPY rate of the same rows: the case rows (cases.cases and cases.case_reports) the pipeline made,
   sampled back with new ids, written with asyncpg COPY in 200-row transactions: pipeline / COPY is the ratio.
5. Cost flat with size (`--pipeline-sizes`, "10000,1000000"; "" skips): the cases consumer's batch path
   (`services.cases.case.events.on_reports_submitted` through `shared.inbox.consume`, 200 report.submitted
   events per batch, in this process) at N seeded cases each with two live deadlines (bench_deadlines.py's
   seeding, with the rollup triggers off: they count what the bench makes), ms per report at each size;
   beside it the same POST applied one event at a time (no batch handlers: the path before issue 10).

Targets (issue 10, 2-core machine, load generator included): >= 1,000 reports → cases/s end to end, intake's
accept rate while the pipeline runs >= 3,000 reports/s.

    .venv/bin/python tests/bench/bench_pipeline.py
    .venv/bin/python tests/bench/bench_pipeline.py --pipeline-processes 1 --pipeline-runs 3 --pipeline-sizes ""
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import asyncpg
import orjson
import psutil
import yaml
from _common import asyncpg_dsn, free_port, pct, prepare_database

ROOT = Path(__file__).resolve().parent.parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench_push import (  # noqa: E402
    PUSH_PATH,
    RawHttp,
    Service,
    id_number,
    import_org,
    make_item,
    org_document,
    person_name,
    phone,
    service_env,
    start_service,
    stop_service,
    tokens_for,
)

BENCH_DB = "fengqiao_bench_pipeline"
TARGET_CASES_PER_S = 1000.0
TARGET_ACCEPT_PER_S = 3000.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("bench_pipeline")
    g.add_argument("--pipeline-phones", type=int, default=8, help="phones pushing at once (default 8)")
    g.add_argument("--pipeline-batches", type=int, default=15, help="batches each phone pushes (default 15)")
    g.add_argument("--pipeline-batch", type=int, default=50, help="reports per batch (default 50)")
    g.add_argument("--pipeline-processes", default="1,2", help="WORKERS of cases and notify per scenario (default 1,2)")
    g.add_argument("--pipeline-runs", type=int, default=1, help="runs of each scenario; medians shown (default 1)")
    g.add_argument("--pipeline-timeout", type=float, default=600.0, help="give up waiting after this (s)")
    g.add_argument(
        "--pipeline-sizes",
        default="10000,1000000",
        help="case counts for the cost-with-size check, comma-separated ('' skips; default 10000,1000000)",
    )
    g.add_argument("--pipeline-keep", action="store_true", help="keep the temp dir (service logs)")
    g.add_argument("--pipeline-database", default=BENCH_DB, help=f"the bench's own database (default {BENCH_DB})")


class CaseMaker:
    """Case-making items only (no patrols), one template per report to push (so parties are new people, as
    in life), one in ten of them naming one of 300 people who recur (their cases link, some turn high-risk);
    serialised once, a batch body is spliced with fresh UUIDs."""

    def __init__(self, grids: list[str], per_grid: int, seed: int = 11) -> None:
        rng = random.Random(seed)
        recurring = [(id_number(rng), phone(rng), person_name(rng)) for _ in range(300)]
        self.templates: dict[str, list[bytes]] = {}
        for grid in grids:
            tails = []
            while len(tails) < per_grid:
                item = make_item(rng, grid)
                if item["kind"] == "patrol" or not item["parties"]:
                    continue
                if rng.random() < 0.1:
                    known = rng.choice(recurring)
                    item["parties"][0] |= {"id_number": known[0], "phone": known[1], "name": known[2]}
                raw = orjson.dumps(item)
                tails.append(raw[len(b'{"id":"') :])
            self.templates[grid] = tails
        self.next = dict.fromkeys(grids, 0)

    def batch(self, device_id: str, grid: str, n: int) -> bytes:
        tails = []
        for _ in range(n):
            pool = self.templates[grid]
            tails.append(pool[self.next[grid] % len(pool)])
            self.next[grid] += 1
        items = b",".join(b'{"id":"' + str(uuid.uuid4()).encode() + t for t in tails)
        return b'{"device_id":"' + device_id.encode() + b'","items":[' + items + b"]}"


def bench_org(phones: int) -> tuple[dict[str, Any], list[str]]:
    """The demo org (areas, departments, the centres' dispatchers, the leader: notify's rules reach them) plus
    the bench's grid workers."""
    demo = yaml.safe_load((ROOT / "deploy" / "demo-org.yaml").read_text(encoding="utf-8"))
    org, grids = org_document(phones)
    demo["users"] = [u for u in demo["users"] if u["role"] != "grid_worker"] + org["users"]
    return demo, grids


async def push_all(phones: list[Any], port: int, maker: CaseMaker, batches: int, size: int) -> dict[str, Any]:
    accepted = errors = 0
    samples: list[str] = []
    first = time.time()
    last = first

    async def one(phone: Any) -> None:
        nonlocal accepted, errors, last
        client = RawHttp("127.0.0.1", port)
        auth = f"Bearer {phone.token}".encode()
        try:
            for _ in range(batches):
                body = maker.batch(phone.device_id, phone.grid, size)
                headers = (
                    b"Authorization: "
                    + auth
                    + b"\r\nContent-Type: application/json\r\nX-Device-Time: "
                    + datetime.now(UTC).isoformat(timespec="milliseconds").encode()
                    + b"\r\n"
                )
                status, resp = await client.post(PUSH_PATH, headers, body)
                last = max(last, time.time())
                if status != 200:
                    errors += 1
                    if len(samples) < 3:
                        samples.append(f"HTTP {status}: {resp[:200]!r}")
                    continue
                ok = sum(1 for r in orjson.loads(resp)["results"] if r["status"] == "accepted")
                accepted += ok
                if ok != size:
                    errors += 1
        finally:
            await client.aclose()

    await asyncio.gather(*(one(p) for p in phones))
    return {"accepted": accepted, "errors": errors, "first": first, "last": last, "samples": samples}


def cpu_snapshot(services: dict[str, Service], database: str) -> dict[str, float]:
    """CPU seconds so far: each service's processes, this database's PostgreSQL backends, this process."""
    out: dict[str, float] = {}
    for name, svc in services.items():
        try:
            parent = psutil.Process(svc.proc.pid)
            for p in [parent, *parent.children(recursive=True)]:
                t = p.cpu_times()
                out[name] = out.get(name, 0.0) + t.user + t.system
        except psutil.Error:
            pass
    for p in psutil.process_iter(["name", "cmdline"]):
        try:
            if p.info["name"] == "postgres" and f" {database} " in " ".join(p.info["cmdline"] or []):
                t = p.cpu_times()
                out["postgres"] = out.get("postgres", 0.0) + t.user + t.system
        except psutil.Error:
            pass
    t = psutil.Process().cpu_times()
    out["phones"] = t.user + t.system
    return out


COUNTS = {
    "cases": "SELECT count(*) FROM cases.cases WHERE created_at >= $1",
    "feed": """SELECT count(*) FROM intake.reports WHERE worker_id = ANY($2) AND received_at >= $1
                 AND case_number IS NOT NULL""",
    "notifications": "SELECT count(*) FROM notify.notifications WHERE created_at >= $1",
    "notify_received": "SELECT count(*) FROM notify.inbox WHERE processed_at >= $1 AND type = 'case.received'",
    "parked": """SELECT (SELECT count(*) FROM intake.outbox WHERE delivered_at IS NULL AND parked_at IS NOT NULL)
                   + (SELECT count(*) FROM cases.outbox WHERE delivered_at IS NULL AND parked_at IS NOT NULL)""",
}


async def counts(
    conn: asyncpg.Connection, since: datetime, workers: list[str], which: tuple[str, ...] = tuple(COUNTS)
) -> dict[str, int]:
    """What the run made so far of `which`, each read by an index over the run's own rows only (a count of
    whole tables every 0.2 s would cost the machine more than the pipeline does as they grow run after run).
    The watch asks only for what it still waits for: these counts visit every row of the run (no vacuum has
    marked them all-visible yet), and on two cores the watcher must not take the pipeline's CPU. A report's
    `report.status` reached its phone's feed when intake recorded the case number (same transaction)."""
    parts = ", ".join(f"({COUNTS[k]}) AS {k}" for k in which)
    row = await conn.fetchrow(f"SELECT {parts}", *((since, workers) if "$2" in parts else (since,)))
    return dict(row)


async def settle_database(conn: asyncpg.Connection) -> None:
    """Before each run (outside any measured window): VACUUM (ANALYZE) the bench database, as a server's
    autovacuum would have by then. Each run adds 6,000 cases and their outbox, feed, notification and delivery
    rows; on a server with autovacuum off (as this machine's is) the dead row versions and the statistics of an
    empty table would otherwise make every run slower than the one before it (seen: 678 → 583 → 528 cases/s).
    Runs still slow down somewhat as the tables grow: the 300 people who recur gather cases run after run."""
    await conn.execute("VACUUM (ANALYZE)")


async def scenario(
    label: str,
    processes: int,
    env: dict[str, str],
    ports: dict[str, int],
    tmp: Path,
    grids: list[str],
    maker: CaseMaker,
    conn: asyncpg.Connection,
    args: argparse.Namespace,
) -> dict[str, Any]:
    running: list[Service] = []
    try:
        cases = await start_service("cases", env, ports["cases"], tmp, processes)
        running.append(cases)
        notify = await start_service("notify", env, ports["notify"], tmp, processes)
        running.append(notify)
        intake = await start_service("intake", env, ports["intake"], tmp, 1)
        running.append(intake)
        phones = await tokens_for(cases, args.pipeline_phones, grids)
        # the directory reaches notify and intake through the relays: let that settle first
        for _ in range(100):
            waiting = await conn.fetchval(
                "SELECT count(*) FROM cases.outbox WHERE delivered_at IS NULL AND type = 'directory.changed'"
            )
            if waiting == 0:
                break
            await asyncio.sleep(0.2)
        started_at = datetime.now(UTC)
        workers = await conn.fetchval(
            "SELECT array_agg(CAST(id AS text)) FROM cases.users WHERE username = ANY($1)", [p.username for p in phones]
        )
        before = await counts(conn, started_at, workers)
        cpu0 = psutil.cpu_times()
        services = {"intake": intake, "cases": cases, "notify": notify}
        own0 = cpu_snapshot(services, args.pipeline_database)
        push = await push_all(phones, ports["intake"], maker, args.pipeline_batches, args.pipeline_batch)
        n = push["accepted"]
        seen: dict[str, float] = {}
        deadline = time.time() + args.pipeline_timeout
        final = before
        milestone = {"cases": "cases", "feed": "feed", "notifications": "notify_received"}
        while time.time() < deadline:
            waiting = tuple(v for k, v in milestone.items() if k not in seen)
            c = await counts(conn, started_at, workers, waiting)
            now = time.time()
            if "cases" not in seen and c["cases"] - before["cases"] >= n:
                seen["cases"] = now
            if "feed" not in seen and c["feed"] - before["feed"] >= n:
                seen["feed"] = now
            if "notifications" not in seen and c["notify_received"] - before["notify_received"] >= n:
                # every case's case.received is through notify's rules: what they made by now is the figure
                # (the deadline sweep keeps adding warnings afterwards; those are not counted)
                seen["notifications"] = now
                final = await counts(conn, started_at, workers, ("notifications",))
            if len(seen) == 3:
                break
            # coarse while far from the end (each count visits the run's rows so far: polled every 0.2 s they
            # took ~4 % of PostgreSQL's time in the run), fine near it, where the figures are read off
            done = min((c[v] - before[v]) / max(n, 1) for k, v in milestone.items() if k not in seen)
            await asyncio.sleep(0.1 if done >= 0.9 else 0.5)
        cpu1 = psutil.cpu_times()
        own1 = cpu_snapshot(services, args.pipeline_database)
        final = {**(await counts(conn, started_at, workers)), "notifications": final["notifications"]}
        delays = [
            float(r["d"])
            for r in await conn.fetch(
                """SELECT EXTRACT(EPOCH FROM c.created_at - cr.received_at) AS d
                   FROM cases.case_reports cr JOIN cases.cases c ON c.id = cr.case_id
                   WHERE cr.received_at >= $1""",
                started_at,
            )
        ]
        first = push["first"]
        made = final["cases"] - before["cases"]
        busy = sum(cpu1) - cpu1.idle - (sum(cpu0) - cpu0.idle)
        r: dict[str, Any] = {
            "reports_accepted": n,
            "push_errors": push["errors"],
            "intake_accept_per_s": round(n / max(push["last"] - first, 1e-9), 1),
            "cases_made": made,
            "reports_to_cases_per_s": round(made / max(seen.get("cases", time.time()) - first, 1e-9), 1),
            "reports_to_feed_per_s": round(
                (final["feed"] - before["feed"]) / max(seen.get("feed", time.time()) - first, 1e-9), 1
            ),
            "notifications_made": final["notifications"] - before["notifications"],
            "notifications_per_s": round(
                (final["notifications"] - before["notifications"])
                / max(seen.get("notifications", time.time()) - first, 1e-9),
                1,
            ),
            "push_to_case_p50_ms": round(pct(delays, 50) * 1000, 1),
            "push_to_case_p99_ms": round(pct(delays, 99) * 1000, 1),
            "last_case_after_s": round(seen.get("cases", float("nan")) - first, 2),
            "parked_events": final["parked"] - before["parked"],
            "machine_cpu_busy_cores": round(busy / max(time.time() - first, 1e-9), 2),
            # the part of it that is ours: CPU seconds per process group over the run (the rest: other work)
            "cpu_s": {k: round(own1.get(k, 0.0) - v, 1) for k, v in own0.items()},
            "machine_cpu_s": round(busy, 1),
        }
        # what a report costs in CPU through the whole pipeline (case, feed, notifications and deliveries; the
        # watch included), and the rate at which the machine's cores, doing nothing else, could carry reports all
        # the way through at that cost (cases alone come sooner: notify's share is spent partly after the last)
        spent = {k: own1.get(k, 0.0) - v for k, v in own0.items()}
        r["cpu_ms_per_report"] = {k: round(1000 * v / max(n, 1), 2) for k, v in spent.items()}
        per_report = sum(spent.values()) / max(n, 1)
        r["cpu_ms_per_report_total"] = round(1000 * per_report, 2)
        r["cpu_bound_pipeline_per_s"] = round((psutil.cpu_count() or 1) / max(per_report, 1e-9), 1)
        if push["samples"]:
            r["push_error_samples"] = push["samples"]
        print(
            f"  {label}: accepted {n:,} at {r['intake_accept_per_s']:,.0f}/s; cases {made:,} at "
            f"{r['reports_to_cases_per_s']:,.0f}/s end to end (last after {r['last_case_after_s']} s); feed "
            f"{r['reports_to_feed_per_s']:,.0f}/s; notifications {r['notifications_made']:,} at "
            f"{r['notifications_per_s']:,.0f}/s; push→case p50 {r['push_to_case_p50_ms']} ms p99 "
            f"{r['push_to_case_p99_ms']} ms; CPU {r['cpu_ms_per_report_total']} ms a report through the whole pipeline "
            f"(the cores could carry {r['cpu_bound_pipeline_per_s']:,.0f}/s at that cost)",
            flush=True,
        )
        return r
    finally:
        for svc in reversed(running):
            await stop_service(svc)


async def copy_rate(conn: asyncpg.Connection, rows: int = 6000, batch: int = 200) -> dict[str, Any]:
    """COPY case rows like the pipeline made (cases.cases + cases.case_reports), new ids, 200 per transaction."""
    sample = await conn.fetch("SELECT * FROM cases.cases ORDER BY random() LIMIT 1000")
    links = await conn.fetch("SELECT * FROM cases.case_reports LIMIT 1000")
    if not sample or not links:
        return {}
    cols = list(sample[0].keys())
    lcols = list(links[0].keys())
    i_id, i_no = cols.index("id"), cols.index("number")
    l_rep, l_no, l_case = lcols.index("report_id"), lcols.index("report_no"), lcols.index("case_id")
    rng = random.Random(5)
    done = 0
    t0 = time.perf_counter()
    while done < rows:
        recs, lrecs = [], []
        for k in range(batch):
            rec = list(rng.choice(sample))
            cid = uuid.uuid4()
            rec[i_id], rec[i_no] = cid, f"X{done + k:011d}"
            recs.append(tuple(rec))
            lrec = list(rng.choice(links))
            lrec[l_rep], lrec[l_no], lrec[l_case] = uuid.uuid4(), f"XR{done + k:010d}", cid
            lrecs.append(tuple(lrec))
        async with conn.transaction():
            await conn.copy_records_to_table("cases", schema_name="cases", columns=cols, records=recs)
            await conn.copy_records_to_table("case_reports", schema_name="cases", columns=lcols, records=lrecs)
        done += batch
    seconds = time.perf_counter() - t0
    return {"copy_rows": done, "copy_cases_per_s": round(done / seconds, 1)}


# --- cost with size ---------------------------------------------------------------------------------


async def cost_with_size(url: str, conn: asyncpg.Connection, sizes: list[int]) -> dict[str, Any]:
    """ms per report of the cases consumer's batch path at each size of cases (each with two live deadlines)."""
    import bench_deadlines as bd

    from services.cases.api import BATCH_HANDLERS, HANDLERS
    from services.cases.db import inbox
    from shared.db import Database
    from shared.inbox import EventBatch, EventIn, consume

    await conn.execute(bd.AREAS_SQL, "BQ", "BQ01", "BQ0101")
    for g in bd.GRIDS:
        await conn.execute(GRID_PATH_SQL, g, f"基准网格{g[-2:]}", "BQ0101", ["BQ", "BQ01", "BQ0101", g])
    domain = bd.build_domain()
    db = Database(url)
    ctx = SimpleNamespace(domain=domain)  # what the handlers read of the service's context
    reports = bd.Reports(17)
    out: dict[str, Any] = {}
    seeded = 0
    now = datetime.now(UTC)
    try:
        for size in sorted(sizes):
            if size > seeded:
                print(f"  seeding cases {seeded + 1:,}..{size:,} with two live deadlines each …", flush=True)
                # seeded without the rollup triggers (they count what the bench makes, not the seed; what one
                # insert costs them does not grow with the rows seeded): a million rows in a minute, not hours
                await conn.execute("SET session_replication_role = replica")
                await bd.seed_pending(conn, seeded + 1, size, now, 0.5)
                await conn.execute("SET session_replication_role = DEFAULT")
                seeded = size
                await bd.vacuum(conn)
            per: dict[str, list[float]] = {"batched": [], "one_by_one": []}
            for round_ in range(6):
                for path, batched in (("batched", BATCH_HANDLERS), ("one_by_one", None)):
                    events = [
                        EventIn(
                            id=uuid.uuid4(),
                            type="report.submitted",
                            aggregate_id=str(uuid.uuid4()),
                            occurred_at=datetime.now(UTC),
                            payload=reports.next().model_dump(),
                        )
                        for _ in range(200)
                    ]
                    t = time.perf_counter()
                    res = await consume(db, inbox, HANDLERS, EventBatch(source="intake", events=events), ctx, batched)
                    ms = (time.perf_counter() - t) * 1000
                    if any(r.status != "processed" for r in res):
                        raise RuntimeError(f"not processed: {[r for r in res if r.status != 'processed'][:2]}")
                    if round_:  # the first is a warm-up
                        per[path].append(ms / len(events))
            live = await conn.fetchval("SELECT count(*) FROM cases.deadlines WHERE state = 'pending'")
            out[f"ms_per_report_at_{size}"] = batched = round(statistics.median(per["batched"]), 3)
            out[f"ms_per_report_one_by_one_at_{size}"] = alone = round(statistics.median(per["one_by_one"]), 3)
            out[f"live_deadlines_at_{size}"] = int(live)
            print(
                f"  at {size:,} cases ({live:,} live deadlines): {batched:.3f} ms per report batched (200 a POST), "
                f"{alone:.3f} ms one by one",
                flush=True,
            )
    finally:
        await db.dispose()
    return out


GRID_PATH_SQL = (
    "INSERT INTO cases.areas (code, name, level, parent_code, path, updated_at) VALUES ($1, $2, 'grid', $3, $4, now())"
)


# --- main -------------------------------------------------------------------------------------------


def median_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in runs[0].items():
        if isinstance(value, dict):
            out[key] = {k: round(statistics.median(r[key].get(k, 0) for r in runs), 1) for k in value}
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            vals = [r[key] for r in runs if isinstance(r.get(key), (int, float))]
            out[key] = round(statistics.median(vals), 1) if vals else value
    return out


async def main(args: argparse.Namespace) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="bench-pipeline-"))
    figures: dict[str, Any] = {}
    notes: list[str] = []
    targets: dict[str, bool] = {}
    try:
        url = await prepare_database(args.pipeline_database)
        print(f"database {args.pipeline_database} recreated and migrated", flush=True)
        org, grids = bench_org(args.pipeline_phones)
        org_file = tmp / "bench-org.json"
        org_file.write_text(json.dumps(org, ensure_ascii=False))
        ports = {"intake": free_port(), "cases": free_port(), "notify": free_port()}
        env = service_env(url, tmp, True, argparse.Namespace(push_db_pool=None), ports)
        env.pop("RUN_JOBS", None)  # the default: every relay and tick runs
        import_org(org_file, env)
        total = args.pipeline_phones * args.pipeline_batches * args.pipeline_batch
        runs = len(str(args.pipeline_processes).split(",")) * args.pipeline_runs
        maker = CaseMaker(grids, per_grid=total * runs // len(grids) + args.pipeline_batch)
        conn = await asyncpg.connect(asyncpg_dsn(url))
        try:
            for processes in [int(p) for p in str(args.pipeline_processes).split(",") if p.strip()]:
                runs = []
                for i in range(args.pipeline_runs):
                    label = f"{processes} process{'es' if processes > 1 else ''} of cases and notify, run {i + 1}"
                    await settle_database(conn)
                    runs.append(await scenario(label, processes, env, ports, tmp, grids, maker, conn, args))
                med = median_of(runs)
                figures[f"processes_{processes}"] = med
                targets[f"{processes} proc: >= {TARGET_CASES_PER_S:,.0f} reports → cases/s end to end"] = (
                    med["reports_to_cases_per_s"] >= TARGET_CASES_PER_S
                )
                targets[f"{processes} proc: intake accepts >= {TARGET_ACCEPT_PER_S:,.0f} reports/s meanwhile"] = (
                    med["intake_accept_per_s"] >= TARGET_ACCEPT_PER_S
                )
            cp = await copy_rate(conn)
            figures["copy"] = cp
            best = max(
                (v["reports_to_cases_per_s"] for k, v in figures.items() if k.startswith("processes_")), default=0
            )
            if cp.get("copy_cases_per_s"):
                figures["pipeline_over_copy"] = round(best / cp["copy_cases_per_s"], 3)
            sizes = [int(s) for s in str(args.pipeline_sizes).split(",") if s.strip()]
            if sizes:
                await conn.close()
                url2 = await prepare_database(args.pipeline_database + "_size")
                conn = await asyncpg.connect(asyncpg_dsn(url2))
                figures["cost_with_size"] = size_figures = await cost_with_size(url2, conn, sizes)
                lo, hi = min(sizes), max(sizes)
                a, b = size_figures[f"ms_per_report_at_{lo}"], size_figures[f"ms_per_report_at_{hi}"]
                targets[f"case creation per report flat from {lo:,} to {hi:,} cases (<= 1.25x)"] = b <= 1.25 * a + 0.2
        finally:
            await conn.close()
    finally:
        if args.pipeline_keep:
            print(f"temp dir kept: {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    notes.append(f"machine: {psutil.cpu_count()} cores shared by the phones, the three services and PostgreSQL")
    figures["targets"] = targets
    figures["notes"] = notes
    return figures


if __name__ == "__main__":
    from run_all import run_standalone

    raise SystemExit(run_standalone(sys.modules[__name__]))
