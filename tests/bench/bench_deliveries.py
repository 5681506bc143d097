"""Webhook deliveries: deliveries/s and end-to-end p99 to a local receiver that fails a third of first attempts.

What it does (all on 127.0.0.1, in its own database `fengqiao_bench_deliveries`, recreated empty and
dropped at the end):
1. Starts a department system in its own process: a keep-alive HTTP/1.1 receiver (asyncio protocol,
   uvloop when installed) that checks every Standard Webhooks signature, answers 500 to the first
   attempt of a third of the webhook-ids (chosen by a hash of the id) and 200 otherwise, and records
   (webhook-id, status, receipt time).
2. Seeds one department endpoint (encrypted secret) and, for the burst scenario, --deliveries-count
   pending webhook deliveries at once (event_at = now), as the rules engine writes them.
3. Runs the delivery worker in this process the way the service's tick does (`deliver_due` every
   --deliveries-tick seconds, max one at a time; --deliveries-workers such loops side by side, like
   replicas) with the retry schedule --deliveries-schedule (default "1s,2s"), until every delivery
   is delivered.
4. Paced scenario (skip with --deliveries-rate 0): the same count written at a steady rate while the
   worker runs, for the end-to-end latency of a system that keeps up (event_at → receipt).
5. Checks: 0 lost (every webhook-id answered 2xx once), 0 duplicated (no id answered 2xx twice),
   0 bad signatures, every row `delivered` in the table.

Figures: deliveries/s (delivered ÷ time from the worker's start to the last 2xx receipt), attempts/s,
e2e latency p50/p99 (all, and those delivered at the first attempt), CPU per delivery of the worker,
of this database's PostgreSQL backends and of the receiver (other work on the machine is not counted;
the 1-minute load average is shown), and what two idle cores would carry at that CPU cost.
--deliveries-compare-clients first measures the HTTP clients alone (httpx splits vs aiohttp).
Target (issue): >= 1,000 deliveries/s on the 2-core machine.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import os
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson
import psutil
from _common import asyncpg_dsn, free_port, pct, prepare_database

ROOT = Path(__file__).resolve().parent.parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

BENCH_DB = "fengqiao_bench_deliveries"
TARGET_RATE = 1000.0
DEPARTMENT = "BENCH-DEPT"
PII_KEY = "k1:" + base64.b64encode(b"bench-deliveries-pii-key-32bytes").decode()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("bench_deliveries")
    g.add_argument(
        "--deliveries-count", type=int, default=10_000, help="webhook deliveries per scenario (default 10,000)"
    )
    g.add_argument("--deliveries-schedule", default="1s,2s", help='retry schedule (default "1s,2s")')
    g.add_argument(
        "--deliveries-concurrency", type=int, default=None, help="requests in flight (default: NotifySettings, 32)"
    )
    g.add_argument(
        "--deliveries-batch", type=int, default=None, help="claim size at most (default: NotifySettings, 200)"
    )
    g.add_argument(
        "--deliveries-workers", type=int, default=1, help="worker loops side by side, like replicas (default 1)"
    )
    g.add_argument(
        "--deliveries-tick", type=float, default=None, help="seconds between ticks (default: NotifySettings, 0.5)"
    )
    g.add_argument(
        "--deliveries-rate",
        type=float,
        default=600.0,
        help="events/s offered in the paced scenario (default 600; 0 skips it)",
    )
    g.add_argument(
        "--deliveries-fail-every", type=int, default=3, help="1 in N webhook-ids fails its first attempt (default 3)"
    )
    g.add_argument(
        "--deliveries-compare-clients",
        action="store_true",
        help="also measure the HTTP clients alone against the receiver (httpx splits vs aiohttp; no database)",
    )
    g.add_argument(
        "--deliveries-database",
        default=BENCH_DB,
        help=f"database name (default {BENCH_DB}; recreated, dropped at the end)",
    )
    g.add_argument("--deliveries-keep", action="store_true", help="keep the database afterwards")


# --- the department system ----------------------------------------------------------------------

RECEIVER = r"""
import asyncio, base64, hashlib, hmac, json, sys, time
port, key_b64, fail_every = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
KEY = base64.b64decode(key_b64)
seen = {}
records = []

def decide(wid):
    n = seen.get(wid, 0) + 1
    seen[wid] = n
    fails = fail_every > 0 and not wid.startswith("msg_cmp")
    fails = fails and int(hashlib.sha1(wid.encode()).hexdigest(), 16) % fail_every == 0
    return 500 if (fails and n == 1) else 200

def check(wid, ts, sig, body):
    mac = base64.b64encode(hmac.new(KEY, f"{wid}.{ts}.".encode() + body, hashlib.sha256).digest()).decode()
    return any(s == "v1," + mac for s in sig.split(" "))

class Handler(asyncio.Protocol):
    def connection_made(self, transport):
        self.t = transport
        self.buf = b""
    def data_received(self, data):
        self.buf += data
        while True:
            i = self.buf.find(b"\r\n\r\n")
            if i < 0:
                return
            head = self.buf[:i].decode("latin-1").split("\r\n")
            h = {}
            for line in head[1:]:
                k, _, v = line.partition(":")
                h[k.strip().lower()] = v.strip()
            n = int(h.get("content-length", "0"))
            if len(self.buf) < i + 4 + n:
                return
            body = self.buf[i + 4:i + 4 + n]
            self.buf = self.buf[i + 4 + n:]
            path = head[0].split(" ")[1]
            if path == "/__records":
                out = json.dumps(records).encode()
                records.clear()
                self.reply(200, out)
                continue
            wid = h.get("webhook-id", "")
            ok = check(wid, h.get("webhook-timestamp", ""), h.get("webhook-signature", ""), body)
            status = decide(wid) if ok else 401
            records.append((wid, status, time.time(), ok))
            self.reply(status, b"ok")
    def reply(self, status, body):
        head = b"HTTP/1.1 %d X\r\nContent-Length: %d\r\nContent-Type: text/plain\r\n\r\n" % (status, len(body))
        self.t.write(head + body)

async def main():
    server = await asyncio.get_running_loop().create_server(Handler, "127.0.0.1", port, backlog=1024)
    print("ready", flush=True)
    await server.serve_forever()

try:
    import uvloop
    uvloop.run(main())
except ImportError:
    asyncio.run(main())
"""


INSERT_SQL = """
INSERT INTO notify.deliveries (id, notification_id, channel, recipient, target, message_id, payload, state,
  attempts, next_attempt_at, created_at, event_at)
SELECT gen_random_uuid(), gen_random_uuid(), 'webhook', 'department:' || $1, $1, m, p::jsonb, 'pending', 0, $3, $3, $3
FROM unnest($2::text[], $4::text[]) AS x(m, p)
"""


def payload(i: int, at: datetime) -> str:
    return orjson.dumps(
        {
            "type": "whistle.created",
            "timestamp": at.isoformat(),
            "data": {
                "whistle_id": str(uuid.uuid4()),
                "case_id": str(uuid.uuid4()),
                "case_number": f"B{i:09d}",
                "department": DEPARTMENT,
                "title": "吹哨：邻里排水纠纷升级",
                "text": "请于 2 小时内派员到场处置，并在系统中反馈。",
                "level": "complex",
                "area_path": ["BQ", "BQ01", "BQ0101"],
            },
        }
    ).decode()


async def insert_batch(conn: asyncpg.Connection, start: int, n: int) -> list[str]:
    now = datetime.now(UTC)
    ids = [f"msg_{uuid.uuid4().hex}" for _ in range(n)]
    await conn.execute(INSERT_SQL, DEPARTMENT, ids, now, [payload(start + k, now) for k in range(n)])
    return ids


class Workers:
    """`deliver_due` ticked as the service does: every `tick` s, never two at once per loop."""

    def __init__(self, db: Any, settings: Any, cipher: Any, clients: list[Any], tick: float) -> None:
        self.db, self.settings, self.cipher, self.clients, self.tick = db, settings, cipher, clients, tick
        self.stop = asyncio.Event()
        self.busy = 0.0
        self.tasks: list[asyncio.Task[None]] = []

    async def _loop(self, clients: Any) -> None:
        from services.notify.delivery.jobs import deliver_due

        while not self.stop.is_set():
            t0 = time.monotonic()
            await deliver_due(self.db, self.settings, self.cipher, clients, max_seconds=60)
            spent = time.monotonic() - t0
            self.busy += spent
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop.wait(), timeout=max(0.0, self.tick - spent))

    def start(self) -> None:
        self.tasks = [asyncio.create_task(self._loop(c)) for c in self.clients]

    async def close(self) -> None:
        self.stop.set()
        await asyncio.gather(*self.tasks, return_exceptions=True)


def start_receiver(port: int, key: bytes, fail_every: int) -> subprocess.Popen[str]:
    """The department's webhook receiver, a process of its own."""
    return subprocess.Popen(
        [sys.executable, "-c", RECEIVER, str(port), base64.b64encode(key).decode(), str(fail_every)],
        stdout=subprocess.PIPE,
        text=True,
    )


async def wait_delivered(conn: asyncpg.Connection, expected: int, seconds: float) -> int:
    deadline = time.monotonic() + seconds
    while True:
        n = await conn.fetchval("SELECT count(*) FROM notify.deliveries WHERE state = 'delivered'")
        if n >= expected or time.monotonic() > deadline:
            return n
        await asyncio.sleep(0.2)


async def fetch_records(http: httpx.AsyncClient, base: str) -> list[tuple[str, int, float, bool]]:
    return [tuple(r) for r in (await http.get(base + "/__records", timeout=60)).json()]


def analyse(records: list[Any], event_at: dict[str, float], started: float) -> dict[str, Any]:
    ok_times: dict[str, list[float]] = {}
    attempts: dict[str, int] = {}
    bad_sig = 0
    for wid, status, at, sig_ok in records:
        attempts[wid] = attempts.get(wid, 0) + 1
        if not sig_ok:
            bad_sig += 1
        if 200 <= status < 300:
            ok_times.setdefault(wid, []).append(at)
    lost = [w for w in event_at if w not in ok_times]
    dup = [w for w, ts in ok_times.items() if len(ts) > 1]
    unknown = [w for w in ok_times if w not in event_at]
    e2e = [min(ts) - event_at[w] for w, ts in ok_times.items() if w in event_at]
    e2e_first = [min(ts) - event_at[w] for w, ts in ok_times.items() if w in event_at and attempts[w] == 1]
    last = max((min(ts) for ts in ok_times.values()), default=started)
    delivered = len(ok_times)
    span = max(last - started, 1e-9)
    return {
        "delivered": delivered,
        "attempts": len(records),
        "lost": len(lost),
        "duplicated": len(dup),
        "unknown": len(unknown),
        "bad_signatures": bad_sig,
        "span": span,
        "rate": delivered / span,
        "attempt_rate": len(records) / span,
        "retried": sum(1 for n in attempts.values() if n > 1),
        "e2e_p50": pct(e2e, 50),
        "e2e_p99": pct(e2e, 99),
        "e2e_max": max(e2e, default=float("nan")),
        "first_p50": pct(e2e_first, 50),
        "first_p99": pct(e2e_first, 99),
    }


class CpuMeter:
    """CPU seconds of this process (the worker), the receiver and the PostgreSQL backends serving this
    benchmark's database (others may be running on the machine: they are not counted)."""

    def __init__(self, receiver_pid: int, dbname: str) -> None:
        self.me = psutil.Process()
        self.receiver = psutil.Process(receiver_pid)
        self.dbname = dbname

    @staticmethod
    def _cpu(p: psutil.Process) -> float:
        t = p.cpu_times()
        return t.user + t.system

    def snap(self) -> dict[str, Any]:
        backends: dict[int, float] = {}
        for p in psutil.process_iter(["name", "cmdline"]):
            try:
                cmd = " ".join(p.info["cmdline"] or [])
                if cmd.startswith("postgres:") and f" {self.dbname} " in f" {cmd} ":
                    backends[p.pid] = self._cpu(p)
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                pass
        return {
            "worker": self._cpu(self.me),
            "receiver": self._cpu(self.receiver),
            "postgres": backends,
            "wall": time.monotonic(),
            "load": os.getloadavg()[0],
        }

    @staticmethod
    def diff(a: dict[str, Any], b: dict[str, Any]) -> dict[str, float]:
        pg = sum(v - a["postgres"].get(pid, 0.0) for pid, v in b["postgres"].items())
        return {
            "worker": b["worker"] - a["worker"],
            "receiver": b["receiver"] - a["receiver"],
            "postgres": pg,
            "wall": b["wall"] - a["wall"],
            "load": b["load"],
        }


def cpu_figures(prefix: str, used: dict[str, float], delivered: int, attempts: int) -> dict[str, Any]:
    """CPU per delivery, and what two cores would carry if they did nothing else (load-independent)."""
    ours = used["worker"] + used["postgres"]
    return {
        f"{prefix}_cpu_ms_per_delivery_worker": round(used["worker"] / max(delivered, 1) * 1000, 3),
        f"{prefix}_cpu_ms_per_delivery_postgres": round(used["postgres"] / max(delivered, 1) * 1000, 3),
        f"{prefix}_cpu_ms_per_delivery_receiver": round(used["receiver"] / max(delivered, 1) * 1000, 3),
        f"{prefix}_two_core_capacity_per_s": round(2 * delivered / max(ours + used["receiver"], 1e-9)),
        f"{prefix}_machine_load_avg_1m": round(used["load"], 1),
    }


async def compare_clients(url: str, key: bytes, n: int = 3000) -> dict[str, Any]:
    """Signed POSTs with 32 in flight, client alone: why webhooks use aiohttp (ARCHITECTURE.md pitfall)."""
    import aiohttp

    from services.notify.delivery.webhooks import webhook_headers

    body = payload(0, datetime.now(UTC)).encode()
    out: dict[str, Any] = {}

    async def measure(name: str, post: Any, conc: int = 32) -> None:
        sem = asyncio.Semaphore(conc)

        async def one(i: int) -> None:
            async with sem:
                await post(i, webhook_headers(f"msg_cmp{i}", int(time.time()), body, [key]))

        await asyncio.gather(*(one(i) for i in range(100)))
        t, c = time.perf_counter(), time.process_time()
        await asyncio.gather(*(one(i) for i in range(n)))
        dt, cpu = time.perf_counter() - t, time.process_time() - c
        out[f"client_{name}_per_s"] = round(n / dt)
        out[f"client_{name}_cpu_us_per_request"] = round(cpu / n * 1e6)
        print(f"  client {name}: {n / dt:,.0f} requests/s, {cpu / n * 1e6:,.0f} µs CPU per request", flush=True)

    for clients, per in ((1, 32), (4, 8), (16, 2)):
        pool = [httpx.AsyncClient(limits=httpx.Limits(max_connections=per), trust_env=False) for _ in range(clients)]

        async def post_httpx(i: int, h: dict[str, str], pool: list[httpx.AsyncClient] = pool) -> None:
            (await pool[i % len(pool)].post(url, content=body, headers=h)).raise_for_status()

        await measure(f"httpx_{clients}x{per}", post_httpx)
        for c in pool:
            await c.aclose()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64)) as session:

        async def post_aiohttp(i: int, h: dict[str, str]) -> None:
            async with session.post(url, data=body, headers=h) as r:
                await r.read()
                r.raise_for_status()

        await measure("aiohttp_1x32", post_aiohttp)
    return out


async def main(args: argparse.Namespace) -> dict[str, Any]:
    from sqlalchemy.engine import make_url

    from services.notify.config import NotifySettings
    from services.notify.delivery.clients import DeliveryClients
    from shared.db import Database
    from shared.pii import PiiCipher

    dbname = args.deliveries_database
    url = await prepare_database(dbname)
    count = args.deliveries_count
    defaults = NotifySettings(
        database_url=url, pii_key=PII_KEY, pii_hash_key="bench", service_tokens={"notify": "bench"}
    )
    settings = defaults.model_copy(
        update={
            "webhook_retry_schedule": args.deliveries_schedule,
            "webhook_allow_private_targets": True,
            "delivery_concurrency": args.deliveries_concurrency or defaults.delivery_concurrency,
            "delivery_batch": args.deliveries_batch or defaults.delivery_batch,
            # one receiver stands for every department here: the per-department cap would measure itself
            "delivery_per_endpoint": args.deliveries_concurrency or defaults.delivery_concurrency,
        }
    )
    tick = args.deliveries_tick if args.deliveries_tick is not None else defaults.delivery_interval_seconds
    cipher = PiiCipher(PII_KEY, "bench")
    key = os.urandom(32)
    secret = "whsec_" + base64.b64encode(key).decode()

    port = free_port()
    receiver = start_receiver(port, key, args.deliveries_fail_every)
    db = Database(url, pool_size=4, application_name="bench-deliveries")
    conn = await asyncpg.connect(asyncpg_dsn(url))
    http = httpx.AsyncClient()
    figures: dict[str, Any] = {}
    workers: Workers | None = None
    try:
        assert receiver.stdout is not None
        line = await asyncio.wait_for(asyncio.to_thread(receiver.stdout.readline), 20)
        assert line.strip() == "ready", line
        base = f"http://127.0.0.1:{port}"
        now = datetime.now(UTC)
        await conn.execute(
            "INSERT INTO notify.endpoints (department_code, url, secrets, state, updated_at) VALUES ($1, $2, "
            "$3::jsonb, 'active', $4)",
            DEPARTMENT,
            base + "/hooks/bench",
            orjson.dumps(
                [{"secret_enc": cipher.encrypt(secret), "added_at": now.isoformat(), "expires_at": None}]
            ).decode(),
            now,
        )
        clients = [DeliveryClients(settings) for _ in range(args.deliveries_workers)]
        cpu = CpuMeter(receiver.pid, dbname)
        print(
            f"  concurrency {settings.delivery_concurrency} per worker (aiohttp), batch {settings.delivery_batch}, "
            f"{args.deliveries_workers} worker(s), tick {tick} s, "
            f"schedule {settings.webhook_retry_schedule}, 1 in {args.deliveries_fail_every} ids fails its first "
            "attempt",
            flush=True,
        )

        if args.deliveries_compare_clients:
            figures.update(await compare_clients(base + "/hooks/compare", key))
            await fetch_records(http, base)  # forget those requests

        # --- burst: everything due at once ---
        seeded: list[str] = []
        for start in range(0, count, 1000):
            seeded += await insert_batch(conn, start, min(1000, count - start))
        rows = await conn.fetch("SELECT message_id, event_at FROM notify.deliveries")
        event_at = {r["message_id"]: r["event_at"].timestamp() for r in rows}
        await conn.execute("ANALYZE notify.deliveries")
        workers = Workers(db, settings, cipher, clients, tick)
        c0 = cpu.snap()
        started = time.time()
        workers.start()
        done = await wait_delivered(conn, count, seconds=max(120.0, count / 50))
        c1 = cpu.snap()
        burst = analyse(await fetch_records(http, base), event_at, started)
        states = dict(await conn.fetch("SELECT state, count(*) FROM notify.deliveries GROUP BY state"))
        used = CpuMeter.diff(c0, c1)
        print(
            f"  burst: {burst['delivered']:,} delivered in {burst['span']:.2f} s = {burst['rate']:,.0f} deliveries/s "
            f"({burst['attempts']:,} attempts = {burst['attempt_rate']:,.0f}/s, {burst['retried']:,} retried); "
            f"e2e p50 {burst['e2e_p50']:.2f} s p99 {burst['e2e_p99']:.2f} s; table {states}; "
            f"lost {burst['lost']}, duplicated {burst['duplicated']}, bad signatures {burst['bad_signatures']}; "
            f"CPU s worker {used['worker']:.1f} receiver {used['receiver']:.1f} postgres {used['postgres']:.1f} "
            f"in {used['wall']:.1f} s wall, machine load {used['load']:.1f}",
            flush=True,
        )
        figures.update(
            {
                "burst_deliveries_per_s": round(burst["rate"]),
                "burst_attempts_per_s": round(burst["attempt_rate"]),
                "burst_seconds": round(burst["span"], 2),
                "burst_e2e_p50_s": round(burst["e2e_p50"], 3),
                "burst_e2e_p99_s": round(burst["e2e_p99"], 3),
                "burst_retried": burst["retried"],
                "burst_lost": burst["lost"],
                "burst_duplicated": burst["duplicated"],
                "burst_bad_signatures": burst["bad_signatures"],
            }
        )
        figures.update(cpu_figures("burst", used, burst["delivered"], burst["attempts"]))
        burst_ok = (
            done == count
            and burst["lost"] == 0
            and burst["duplicated"] == 0
            and burst["bad_signatures"] == 0
            and states.get("delivered") == count
        )

        # --- paced: events arrive at a steady rate while the worker runs ---
        paced_ok = True
        if args.deliveries_rate > 0:
            await conn.execute("DELETE FROM notify.deliveries")
            rate = args.deliveries_rate
            step = 0.05
            per_step = max(1, round(rate * step))
            event_at = {}
            c0 = cpu.snap()
            started = time.time()
            t_next = time.monotonic()
            made = 0
            while made < count:
                n = min(per_step, count - made)
                await insert_batch(conn, made, n)
                made += n
                t_next += step
                await asyncio.sleep(max(0.0, t_next - time.monotonic()))
            offered = made / (time.time() - started)
            done = await wait_delivered(conn, count, seconds=max(120.0, count / 50))
            c1 = cpu.snap()
            rows = await conn.fetch("SELECT message_id, event_at FROM notify.deliveries")
            event_at = {r["message_id"]: r["event_at"].timestamp() for r in rows}
            paced = analyse(await fetch_records(http, base), event_at, started)
            states = dict(await conn.fetch("SELECT state, count(*) FROM notify.deliveries GROUP BY state"))
            used = CpuMeter.diff(c0, c1)
            print(
                f"  paced at {offered:,.0f}/s: e2e p50 {paced['e2e_p50']:.3f} s p99 {paced['e2e_p99']:.3f} s "
                f"max {paced['e2e_max']:.3f} s; "
                f"first-attempt deliveries p50 {paced['first_p50']:.3f} s p99 {paced['first_p99']:.3f} s; "
                f"lost {paced['lost']}, duplicated {paced['duplicated']}, bad signatures {paced['bad_signatures']}; "
                f"CPU s worker {used['worker']:.1f} receiver {used['receiver']:.1f} postgres {used['postgres']:.1f} "
                f"in {used['wall']:.1f} s wall, machine load {used['load']:.1f}",
                flush=True,
            )
            figures.update(
                {
                    "paced_offered_per_s": round(offered),
                    "paced_e2e_p50_s": round(paced["e2e_p50"], 3),
                    "paced_e2e_p99_s": round(paced["e2e_p99"], 3),
                    "paced_first_attempt_p50_s": round(paced["first_p50"], 3),
                    "paced_first_attempt_p99_s": round(paced["first_p99"], 3),
                    "paced_lost": paced["lost"],
                    "paced_duplicated": paced["duplicated"],
                }
            )
            figures.update(cpu_figures("paced", used, paced["delivered"], paced["attempts"]))
            paced_ok = (
                done == count
                and paced["lost"] == 0
                and paced["duplicated"] == 0
                and paced["bad_signatures"] == 0
                and states.get("delivered") == count
            )

        figures["targets"] = {
            f">= {TARGET_RATE:,.0f} webhook deliveries/s"
            f" (burst of {count:,}, 1 in {args.deliveries_fail_every} retried)": burst["rate"] >= TARGET_RATE,
            "0 lost, 0 duplicated webhook-ids, 0 bad signatures, every row delivered": burst_ok and paced_ok,
        }
        figures["notes"] = [
            "deliveries/s = webhook-ids answered 2xx / seconds from the worker's start to the last 2xx; the burst's "
            "e2e includes waiting in the queue behind the whole burst and the retry schedule's first wait",
            "paced e2e = event_at to the receiver's 2xx receipt; retried ones include the schedule's first wait (1 s "
            "±10 %) "
            "and the tick",
        ]
        if not (burst_ok and paced_ok):
            raise RuntimeError(f"deliveries lost, duplicated or mis-signed: {figures}")
        return figures
    finally:
        if workers is not None:
            await workers.close()
            for c in workers.clients:
                await c.close()
        await http.aclose()
        receiver.terminate()
        try:
            receiver.wait(timeout=10)
        except subprocess.TimeoutExpired:
            receiver.kill()
        await conn.close()
        await db.dispose()
        if not args.deliveries_keep and make_url(url).database == dbname:
            admin = await asyncpg.connect(asyncpg_dsn(url, "postgres"))
            try:
                await admin.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
            finally:
                await admin.close()


if __name__ == "__main__":
    from run_all import run_standalone

    raise SystemExit(run_standalone(sys.modules[__name__]))
