"""Intake push: sustained reports/s and batch latency from 16 phones, against an asyncpg COPY ceiling.

What it does (all on 127.0.0.1, all in its own database `fengqiao_bench`, recreated empty):
1. `shared.devdb.resolve_database_url("test")` with TEST_DATABASE_NAME=fengqiao_bench, `alembic upgrade head`,
   then `python -m services.cases import-org` of the demo org's areas plus 16 grid workers
   bench-w00..bench-w15 (each bound to one of the demo grids).
2. Starts cases and intake as real processes (`python -m services.cases|intake`) on free ports and
   gets a token for each worker (device bench-phone-NN).
3. Variant A: intake with RUN_JOBS=false (the outbox relay does not compete). 16 simulated phones
   push 50-item batches of realistic reports (valid, varied ID numbers and phones, flags, Chinese
   text, ~1 KB an item, new UUIDs every batch) to POST /v1/sync/push for --seconds after --warmup;
   every result must be "accepted" (anything else is counted as an error and shown).
4. The ceiling: the same rows (sampled back from intake.reports, new id and report_no) written with
   asyncpg `copy_records_to_table` in 50-row batches, each COPY its own transaction as a push is, for
   as many rows as variant A accepted or --push-copy-seconds, whichever comes first: from one
   connection (the figure push/COPY uses), from 16 connections (commits overlap as the pushes' do), and
   from 16 connections with the outbox rows push also writes (reports + outbox in one transaction).
5. Variant B: both services restarted with RUN_JOBS=true, so intake's relay hands reports to cases
   (which opens cases) while the phones push; events handed over, cases opened and the outbox backlog
   at the end are reported. Skip with --push-variants A. --push-analyze runs ANALYZE before each variant.

CPU is accounted per process (load generator, intake, cases, PostgreSQL backends of this database,
PostgreSQL background, anything else on the machine) because the load generator shares the 2 cores.
The bodies are pre-serialised once per batch: templates are serialised with orjson at start and a
batch is spliced from them with fresh UUIDs. Clients: `raw` (asyncio streams, keep-alive HTTP/1.1,
one connection per phone), `httpx` (one httpx.AsyncClient per phone), `httpx1` (one shared client).
Measured here (--push-clients raw,httpx,httpx1): the load generator spends ~0.8 ms CPU per 50-item
batch with `raw` against ~2.5-3.0 ms with `httpx` and ~2.8-3.3 ms with `httpx1` (3-4x), so `raw` is the
default: at the 5,000 reports/s target httpx alone would take ~0.3 of the 2 cores from the server.

Targets (issue): >= 5,000 reports/s sustained with 16 concurrent phones, p99 batch latency <= 400 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson
import psutil
import yaml
from _common import asyncpg_dsn, free_port, prepare_database

ROOT = Path(__file__).resolve().parent.parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from services.intake.report.schemas import DISPUTE_CATEGORIES, RISK_FLAGS  # noqa: E402

BENCH_DB = "fengqiao_bench"
PASSWORD = "bench-pass-1"
TARGET_RATE = 5000.0
TARGET_P99_MS = 400.0
PUSH_PATH = b"/v1/sync/push"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("bench_push")
    g.add_argument("--push-phones", type=int, default=16, help="concurrent phones = grid workers (default 16)")
    g.add_argument("--push-batch", type=int, default=50, help="items per push (default 50)")
    g.add_argument(
        "--push-clients",
        default="raw",
        help="client(s) for variant A, comma-separated: raw, httpx (one AsyncClient per phone), "
        "httpx1 (one shared AsyncClient); the first is also used for variant B (default raw)",
    )
    g.add_argument("--push-variants", default="A,B", help="A (RUN_JOBS=false), B (RUN_JOBS=true on both); default A,B")
    g.add_argument("--push-no-copy", action="store_true", help="skip the COPY ceiling")
    g.add_argument("--push-db-pool", type=int, default=None, help="DB_POOL_SIZE for the services (default: theirs)")
    g.add_argument(
        "--push-intake-workers",
        type=int,
        default=os.cpu_count() or 1,
        help="intake processes behind its port (WORKERS=N for `python -m services.intake`), as a deployment "
        "runs one per core; default: the machine's cores",
    )
    g.add_argument("--push-copy-seconds", type=float, default=10.0, help="time bound of each COPY run (default 10)")
    g.add_argument(
        "--push-pyspy",
        metavar="DIR",
        default=None,
        help="record py-spy (raw collapsed stacks) of intake during each measured window into DIR "
        "(py-spy on PATH or $PY_SPY)",
    )
    g.add_argument("--push-keep", action="store_true", help="keep the temp dir (service logs, org file)")
    g.add_argument(
        "--push-analyze",
        action="store_true",
        help="ANALYZE the database before each variant (fresh planner statistics)",
    )


# --- realistic reports -----------------------------------------------------------------------------

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_REGIONS = (
    "620602",
    "620621",
    "620622",
    "620623",
    "620102",
    "620103",
    "110105",
    "440305",
    "510107",
    "330106",
    "410105",
    "640104",
)
_SURNAMES = (
    "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎"
    "余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段漕钱汤尹黎易常武乔贺赖龚文"
)
_GIVEN = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英建国建华志强海燕红梅玉兰春梅德明文华国强永刚晓东小红淑珍凤英"
)
_PHONE_PREFIX = (
    "130",
    "131",
    "132",
    "133",
    "135",
    "136",
    "137",
    "138",
    "139",
    "150",
    "151",
    "152",
    "155",
    "157",
    "158",
    "159",
    "166",
    "173",
    "177",
    "180",
    "181",
    "186",
    "187",
    "188",
    "189",
    "191",
    "199",
)
_COMPANIES = (
    "凉州区某建筑工程有限公司",
    "武威市某物业服务有限公司",
    "某劳务派遣公司",
    "某房地产开发有限公司",
    "某农业合作社",
    "某运输有限公司",
)
_PLACES = (
    "大柳镇大柳村三组",
    "大柳镇小柳村二组",
    "三岔河镇三岔村五组",
    "大柳镇集镇东街",
    "三岔河镇政府西侧",
    "大柳村文化广场",
    "小柳村村委会旁",
    "三岔村养殖小区",
)
_SENTENCES = {
    "dispute": (
        "双方因宅基地边界问题多次发生争执，近日矛盾激化。",
        "申请人反映被申请人长期拖欠其工资，多次讨要未果。",
        "邻里之间因排水沟堵塞导致院墙渗水，双方互不相让。",
        "夫妻双方因家庭琐事长期不和，女方要求村委会出面调解。",
        "工地负责人称工程款尚未结清，无法支付工人工资。",
        "当事人情绪激动，扬言若问题得不到解决将到镇政府上访。",
        "网格员已到现场初步了解情况，并安抚双方情绪。",
        "双方同意在村调委会主持下进行调解，时间另行约定。",
        "涉及土地承包合同到期后续签问题，双方对补偿金额分歧较大。",
        "物业公司与业主因停车费上涨问题产生纠纷，部分业主拒缴物业费。",
        "事件涉及多户村民，需要镇司法所和派出所协同处置。",
        "据了解该纠纷已持续两年，曾在村里调解过一次但未达成一致。",
    ),
    "hazard": (
        "村道旁一处电线杆倾斜，电线下垂距地面不足两米，存在安全隐患。",
        "巷道内私拉乱接电线给电动车充电，易引发火灾。",
        "自建房外墙出现明显裂缝，雨季有倒塌风险。",
        "灌溉渠护栏缺失，附近有儿童玩耍，存在溺水隐患。",
        "已设置临时警示标志，并通知相关户主暂停使用。",
        "建议由镇安监站和供电所尽快派人现场核查处置。",
    ),
    "request": (
        "独居老人反映冬季取暖困难，希望申请临时救助。",
        "村民咨询城乡居民医保缴费及报销政策。",
        "残疾人家庭申请危房改造，已提交相关材料复印件。",
        "群众反映自来水水压不足，早晚用水高峰基本停水。",
        "需要民政办核实家庭收入情况后按程序办理。",
    ),
    "security": (
        "近期村内连续发生两起电动车电瓶被盗案件。",
        "有陌生人员以推销保健品为名向老人兜售高价产品，疑似诈骗。",
        "夜间有人员在村口聚集饮酒，时有争吵，群众反映强烈。",
        "已提醒村民加强防范，并将情况报告派出所。",
    ),
    "patrol": (
        "例行巡查网格内重点人员及重点场所，未发现异常情况。",
        "走访独居老人三户，身体状况良好，生活物资充足。",
        "检查沿街商铺消防器材配置情况，两户灭火器过期，已督促更换。",
        "巡查河道及水库周边，警示标识完好。",
    ),
}
_TITLES = {
    "dispute": (
        "工地拖欠农民工工资",
        "宅基地边界纠纷",
        "邻里排水纠纷",
        "婚姻家庭矛盾",
        "土地承包合同纠纷",
        "物业收费纠纷",
        "借款未还引发争执",
    ),
    "hazard": ("电线杆倾斜存在隐患", "私拉电线充电隐患", "自建房墙体开裂", "渠道护栏缺失"),
    "request": ("独居老人申请临时救助", "医保政策咨询", "危房改造申请", "自来水水压不足"),
    "security": ("电动车电瓶被盗", "疑似保健品诈骗", "夜间聚集饮酒滋事"),
    "patrol": ("网格日常巡查", "走访独居老人", "沿街商铺消防检查", "河道安全巡查"),
}
_CATEGORIES = {
    "hazard": ("fire_safety", "building_safety", "electric_safety", "water_safety"),
    "request": ("social_assistance", "medical_insurance", "housing_repair", "water_supply"),
    "security": ("theft", "fraud", "public_order"),
    "patrol": ("routine_patrol", "home_visit", "fire_check"),
}
_KINDS = ("dispute",) * 11 + ("hazard",) * 3 + ("request",) * 2 + ("security",) * 2 + ("patrol",) * 2


def id_number(rng: random.Random) -> str:
    birth = datetime(1940, 1, 1, tzinfo=UTC) + timedelta(days=rng.randrange(0, 65 * 365))
    body = f"{rng.choice(_REGIONS)}{birth:%Y%m%d}{rng.randrange(0, 1000):03d}"
    return body + _CHECK[sum(int(c) * w for c, w in zip(body, _WEIGHTS, strict=False)) % 11]


def phone(rng: random.Random) -> str:
    return rng.choice(_PHONE_PREFIX) + f"{rng.randrange(0, 10**8):08d}"


def person_name(rng: random.Random) -> str:
    return rng.choice(_SURNAMES) + "".join(rng.choice(_GIVEN) for _ in range(rng.choice((1, 2))))


def make_item(rng: random.Random, grid: str) -> dict[str, Any]:
    """One report as a phone sends it (like tests/intake/factories.py `report()`), varied; ~1 KB as JSON."""
    kind = rng.choice(_KINDS)
    category = rng.choice(list(DISPUTE_CATEGORIES)) if kind == "dispute" else rng.choice(_CATEGORIES[kind])
    sentences = _SENTENCES[kind]
    target = rng.randint(80, 160)
    pool = rng.sample(sentences, len(sentences))
    description = ""
    while len(description) < target and pool:
        description += pool.pop()
    parties: list[dict[str, Any]] = []
    for n in range(rng.choice((1, 2, 2, 3, 4)) if kind != "patrol" else rng.choice((0, 1))):
        if n == 1 and kind == "dispute" and rng.random() < 0.3:
            parties.append({"name": rng.choice(_COMPANIES), "role": "respondent"})
            continue
        party: dict[str, Any] = {
            "name": person_name(rng),
            "role": ("applicant", "respondent", "witness", "victim")[min(n, 3)],
        }
        if rng.random() < 0.85:
            party["id_number"] = id_number(rng)
        if rng.random() < 0.85:
            party["phone"] = phone(rng)
        if rng.random() < 0.2:
            party["relation"] = rng.choice(("配偶", "邻居", "雇主", "亲属"))
        parties.append(party)
    captured = datetime.now(timezone(timedelta(hours=8))) - timedelta(minutes=rng.randrange(0, 3 * 24 * 60))
    occurred = captured - timedelta(minutes=rng.randrange(0, 7 * 24 * 60))
    item: dict[str, Any] = {
        "id": "",  # replaced by a fresh UUID in every batch
        "kind": kind,
        "category": category,
        "title": rng.choice(_TITLES[kind]) + ("" if rng.random() < 0.5 else f"（{rng.choice(_PLACES)[:3]}）"),
        "description": description,
        "grid": grid,
        "location": {
            "lat": round(37.8 + rng.random() * 0.3, 6),
            "lon": round(102.5 + rng.random() * 0.3, 6),
            "address": rng.choice(_PLACES),
        },
        "occurred_at": occurred.isoformat(timespec="seconds"),
        "captured_at": captured.isoformat(timespec="seconds"),
        "parties": parties,
        "people_involved": rng.randint(1, 40) if kind != "patrol" else None,
        "amount_cny": f"{rng.randint(500, 300000)}.00"
        if category in ("wages", "debt", "land", "expropriation")
        else None,
        "flags": rng.sample(RISK_FLAGS, rng.choice((0, 0, 1, 1, 2))),
        "attachments": [f"sha256:{rng.getrandbits(256):064x}" for _ in range(rng.choice((0, 0, 0, 1, 2, 3)))],
    }
    return item


class BatchMaker:
    """Item templates serialised once; a batch body is spliced from them with fresh UUIDs (no per-item dumps)."""

    def __init__(self, grids: list[str], per_grid: int, seed: int = 7) -> None:
        rng = random.Random(seed)
        self.templates: dict[str, list[bytes]] = {}
        sizes: list[int] = []
        for grid in grids:
            tails = []
            for _ in range(per_grid):
                raw = orjson.dumps(make_item(rng, grid))
                assert raw.startswith(b'{"id":"",')
                tails.append(raw[len(b'{"id":"') :])  # starts with '",' — the rest of the item
                sizes.append(len(raw) + 36)
            self.templates[grid] = tails
        self.mean_item_bytes = sum(sizes) / len(sizes)
        self.rng = random.Random(seed + 1)

    def batch(self, device_id: str, grid: str, n: int) -> tuple[bytes, list[str]]:
        ids = [str(uuid.uuid4()) for _ in range(n)]
        tails = self.rng.choices(self.templates[grid], k=n)
        items = b",".join(b'{"id":"' + i.encode() + t for i, t in zip(ids, tails, strict=False))
        return b'{"device_id":"' + device_id.encode() + b'","items":[' + items + b"]}", ids


# --- clients --------------------------------------------------------------------------------------


class RawHttp:
    """Minimal keep-alive HTTP/1.1 client over asyncio streams: one connection, one request at a time."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.hostb = f"{host}:{port}".encode()
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.reconnects = 0

    async def post(self, path: bytes, headers: bytes, body: bytes) -> tuple[int, bytes]:
        for attempt in range(2):
            if self.writer is None:
                self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
                if attempt:
                    self.reconnects += 1
            try:
                self.writer.write(
                    b"POST "
                    + path
                    + b" HTTP/1.1\r\nHost: "
                    + self.hostb
                    + b"\r\n"
                    + headers
                    + b"Content-Length: "
                    + str(len(body)).encode()
                    + b"\r\n\r\n"
                    + body
                )
                await self.writer.drain()
                return await self._response()
            except (ConnectionError, asyncio.IncompleteReadError):
                await self.aclose()
                if attempt:  # a fresh connection failed too
                    raise
        raise AssertionError("unreachable")

    async def _response(self) -> tuple[int, bytes]:
        assert self.reader is not None
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        length: int | None = None
        chunked = close = False
        for line in lines[1:]:
            key, _, value = line.partition(b":")
            key = key.strip().lower()
            if key == b"content-length":
                length = int(value)
            elif key == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
            elif key == b"connection":
                close = value.strip().lower() == b"close"
        if chunked:
            parts = []
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                if size == 0:
                    await self.reader.readuntil(b"\r\n")
                    break
                parts.append(await self.reader.readexactly(size))
                await self.reader.readexactly(2)
            body = b"".join(parts)
        elif length is not None:
            body = await self.reader.readexactly(length)
        else:
            body, close = await self.reader.read(), True
        if close:
            await self.aclose()
        return status, body

    async def aclose(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await self.writer.wait_closed()
        self.reader = self.writer = None


class HttpxPoster:
    def __init__(self, client: httpx.AsyncClient, own: bool) -> None:
        self.client, self.own, self.reconnects = client, own, 0

    async def post(self, path: bytes, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        resp = await self.client.post(path.decode(), content=body, headers=headers)
        return resp.status_code, resp.content

    async def aclose(self) -> None:
        if self.own:
            await self.client.aclose()


def make_clients(kind: str, base_url: str, port: int, n: int) -> list[Any]:
    if kind == "raw":
        return [RawHttp("127.0.0.1", port) for _ in range(n)]
    limits = httpx.Limits(max_connections=n, max_keepalive_connections=n)
    if kind == "httpx":
        return [HttpxPoster(httpx.AsyncClient(base_url=base_url, timeout=60, limits=limits), True) for _ in range(n)]
    if kind == "httpx1":
        shared = httpx.AsyncClient(base_url=base_url, timeout=60, limits=limits)
        return [HttpxPoster(shared, i == 0) for i in range(n)]
    raise SystemExit(f"unknown client {kind!r} (raw, httpx, httpx1)")


# --- processes, database, CPU ----------------------------------------------------------------------


@dataclass
class Service:
    name: str
    port: int
    proc: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def spawn_service(name: str, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """`python -m services.<name>` in a session of its own, its output appended to `log`."""
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", f"services.{name}"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=out,
            start_new_session=True,
        )


async def start_service(name: str, env: dict[str, str], port: int, tmp: Path, workers: int = 1) -> Service:
    log = tmp / f"{name}-{port}.log"
    proc = spawn_service(name, dict(env, PORT=str(port), WORKERS=str(workers)), log)
    svc = Service(name, port, proc, log)
    async with httpx.AsyncClient(timeout=2) as http:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited during start:\n{log.read_text()[-3000:]}")
            try:
                if (await http.get(f"{svc.url}/readyz")).status_code == 200:
                    return svc
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2)
    await stop_service(svc)
    raise RuntimeError(f"{name} not ready after 60 s:\n{log.read_text()[-3000:]}")


async def stop_service(svc: Service) -> None:
    if svc.proc.poll() is None:
        svc.proc.send_signal(signal.SIGTERM)
        for _ in range(100):
            if svc.proc.poll() is not None:
                break
            await asyncio.sleep(0.1)
        else:
            svc.proc.kill()
            svc.proc.wait()


class CpuMeter:
    """CPU seconds between two snapshots: this process, the services, PostgreSQL (this DB's backends
    vs background vs other databases) and the rest of the machine."""

    def __init__(self, services: dict[str, Service]) -> None:
        self.services = services
        self._start: dict[str, Any] = {}

    @staticmethod
    def _cpu(p: psutil.Process) -> tuple[float, float]:
        t = p.cpu_times()
        return t.user + t.system, t.system

    def _snapshot(self) -> dict[str, Any]:
        snap: dict[str, Any] = {"wall": time.monotonic(), "procs": {}}
        snap["procs"][("loadgen", os.getpid())] = self._cpu(psutil.Process())
        for name, svc in self.services.items():
            try:
                parent = psutil.Process(svc.proc.pid)
                for p in [parent, *parent.children(recursive=True)]:
                    snap["procs"][(name, p.pid)] = self._cpu(p)
            except psutil.Error:
                pass
        for p in psutil.process_iter(["name", "cmdline"]):
            try:
                if p.info["name"] != "postgres":
                    continue
                title = " ".join(p.info["cmdline"] or [])
                group = (
                    "pg_bench_backends"
                    if f" {BENCH_DB} " in title
                    else "pg_other_databases"
                    if "127.0.0.1(" in title or "[local]" in title
                    else "pg_background"
                )
                snap["procs"][(group, p.pid)] = self._cpu(p)
            except psutil.Error:
                pass
        t = psutil.cpu_times()
        snap["busy"] = sum(t) - t.idle - getattr(t, "iowait", 0.0)
        return snap

    def start(self) -> None:
        self._start = self._snapshot()

    def stop(self) -> dict[str, float]:
        end = self._snapshot()
        out: dict[str, float] = {}
        system: dict[str, float] = {}
        for key, (value, sys_value) in end["procs"].items():
            before, sys_before = self._start["procs"].get(key, (0.0, 0.0))
            out[key[0]] = out.get(key[0], 0.0) + value - before
            system[key[0]] = system.get(key[0], 0.0) + sys_value - sys_before
        busy = end["busy"] - self._start["busy"]
        out["other_processes"] = max(busy - sum(out.values()), 0.0)
        self.system = system
        out["machine_busy"] = busy
        out["wall"] = end["wall"] - self._start["wall"]
        return out


# --- the load --------------------------------------------------------------------------------------


@dataclass
class Phone:
    index: int
    username: str
    device_id: str
    grid: str
    token: str


@dataclass
class LoadStats:
    latencies: list[float] = field(default_factory=list)
    batches: int = 0
    accepted: int = 0
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    first_start: float = 0.0
    last_end: float = 0.0

    def error(self, text: str) -> None:
        self.errors += 1
        if len(self.error_samples) < 5:
            self.error_samples.append(text[:500])


async def drive(
    phones: list[Phone], clients: list[Any], kind: str, maker: BatchMaker, batch: int, seconds: float, stats: LoadStats
) -> None:
    deadline = time.perf_counter() + seconds
    stats.first_start = time.perf_counter()

    async def one(phone: Phone, client: Any) -> None:
        auth = f"Bearer {phone.token}"
        while time.perf_counter() < deadline:
            body, ids = maker.batch(phone.device_id, phone.grid, batch)
            device_time = datetime.now(UTC).isoformat(timespec="milliseconds")
            if kind == "raw":
                headers: Any = (
                    b"Authorization: "
                    + auth.encode()
                    + b"\r\nContent-Type: application/json\r\nX-Device-Time: "
                    + device_time.encode()
                    + b"\r\n"
                )
            else:
                headers = {"Authorization": auth, "Content-Type": "application/json", "X-Device-Time": device_time}
            t0 = time.perf_counter()
            try:
                status, resp = await asyncio.wait_for(client.post(PUSH_PATH, headers, body), timeout=60)
            except Exception as exc:
                stats.error(f"{type(exc).__name__}: {exc}")
                if isinstance(client, RawHttp):
                    await client.aclose()  # the connection is in an unknown state
                stats.batches += 1
                await asyncio.sleep(0.1)
                continue
            t1 = time.perf_counter()
            stats.batches += 1
            stats.last_end = max(stats.last_end, t1)
            if status != 200:
                stats.error(f"HTTP {status}: {resp[:300]!r}")
                continue
            stats.latencies.append(t1 - t0)
            results = orjson.loads(resp)["results"]
            ok = sum(1 for r, i in zip(results, ids, strict=False) if r["status"] == "accepted" and r["id"] == i)
            stats.accepted += ok
            if ok != len(ids) or len(results) != len(ids):
                bad = [r for r in results if r["status"] != "accepted"][:2]
                stats.error(f"{len(ids) - ok} of {len(ids)} items not accepted, e.g. {bad}")

    await asyncio.gather(*(one(p, c) for p, c in zip(phones, clients, strict=False)))


def pct(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    k = max(0, min(len(sorted_values) - 1, round(q * len(sorted_values) + 0.5) - 1))
    return sorted_values[k]


async def run_scenario(
    label: str,
    intake: Service,
    services: dict[str, Service],
    phones: list[Phone],
    kind: str,
    maker: BatchMaker,
    args: argparse.Namespace,
    conn: asyncpg.Connection,
    tmp: Path,
) -> dict[str, Any]:
    batch = args.push_batch
    clients = make_clients(kind, intake.url, intake.port, len(phones))
    before = await conn.fetchval("SELECT count(*) FROM intake.reports")
    try:
        if args.warmup > 0:
            warm = LoadStats()
            await drive(phones, clients, kind, maker, batch, args.warmup, warm)
            if warm.errors:
                raise RuntimeError(f"{label}: errors during warm-up: {warm.error_samples}")
            warm_accepted = warm.accepted
        else:
            warm_accepted = 0
        meter = CpuMeter(services)
        pyspy = start_pyspy(args, intake, label, tmp)
        stats = LoadStats()
        meter.start()
        await drive(phones, clients, kind, maker, batch, args.seconds, stats)
        cpu = meter.stop()
        stop_pyspy(pyspy)
    finally:
        for c in clients:
            await c.aclose()
    after = await conn.fetchval("SELECT count(*) FROM intake.reports")
    elapsed = max(stats.last_end - stats.first_start, 1e-9)
    lat = sorted(stats.latencies)
    rate = stats.accepted / elapsed
    figures: dict[str, Any] = {
        "client": kind,
        "seconds": round(elapsed, 2),
        "batches": stats.batches,
        "reports_accepted": stats.accepted,
        "errors": stats.errors,
        "reports_per_s": round(rate, 1),
        "batches_per_s": round(len(lat) / elapsed, 1),
        "p50_ms": round(pct(lat, 0.50) * 1000, 1),
        "p90_ms": round(pct(lat, 0.90) * 1000, 1),
        "p99_ms": round(pct(lat, 0.99) * 1000, 1),
        "max_ms": round((lat[-1] if lat else float("nan")) * 1000, 1),
        "rows_stored_check": (after - before) == stats.accepted + warm_accepted,
        "cpu_cores": {k: round(v / cpu["wall"], 2) for k, v in cpu.items() if k != "wall"},
        "cpu_ms_per_batch": {
            k: round(v * 1000 / max(len(lat), 1), 2)
            for k, v in cpu.items()
            if k not in ("wall", "machine_busy", "other_processes", "pg_other_databases")
        },
    }
    figures["cpu_ms_per_batch_in_kernel"] = {
        k: round(v * 1000 / max(len(lat), 1), 2) for k, v in meter.system.items() if k in figures["cpu_ms_per_batch"]
    }
    # What the CPU cost per batch allows on an otherwise idle machine (an estimate, not a measurement):
    # all cores shared by load generator + services + PostgreSQL, and one intake process uses at most one core.
    per = figures["cpu_ms_per_batch"]
    ours = sum(per.values())
    cores = psutil.cpu_count() or 1
    if ours > 0 and per.get("intake"):
        figures["est_idle_machine_reports_per_s"] = round(min(cores * 1000 / ours, 1000 / per["intake"]) * batch)
    if pyspy is not None and await asyncio.to_thread(os.path.exists, pyspy.args[-1]):
        from pyspy_summary import render

        figures["profile"] = render(pyspy.args[-1], figures["cpu_ms_per_batch"].get("intake"))
    if stats.error_samples:
        figures["error_samples"] = stats.error_samples
    if not figures["rows_stored_check"]:
        figures["error_samples"] = [
            *figures.get("error_samples", []),
            f"intake.reports grew by {after - before}, but {stats.accepted + warm_accepted} were accepted",
        ]
    return figures


def start_pyspy(args: argparse.Namespace, intake: Service, label: str, tmp: Path) -> subprocess.Popen[bytes] | None:
    if not args.push_pyspy:
        return None
    exe = os.environ.get("PY_SPY") or shutil.which("py-spy")
    if not exe:
        print("  (py-spy not found; no profile)", flush=True)
        return None
    out = Path(args.push_pyspy)
    out.mkdir(parents=True, exist_ok=True)
    target = out / f"intake-{label}.txt"
    return subprocess.Popen(
        [
            exe,
            "record",
            "--pid",
            str(intake.proc.pid),
            "--format",
            "raw",
            "--rate",
            "200",
            "--duration",
            str(int(args.seconds) + 2),
            "--nonblocking",
            "--subprocesses",
            "-o",
            str(target),
        ],
        stdout=subprocess.DEVNULL,
        stderr=open(tmp / f"pyspy-{label}.log", "wb"),
    )


def stop_pyspy(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is not None and proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


# --- the COPY ceiling ------------------------------------------------------------------------------


async def copy_ceiling(
    url: str, conn: asyncpg.Connection, rows_wanted: int, seconds: float, batch: int, parallel: int
) -> dict[str, Any]:
    """COPY the rows push stored (sampled back, new id and report_no) in `batch`-row COPYs, each its own
    transaction: from one connection (the ceiling asked for), from `parallel` connections (as many as
    phones: commits overlap as the pushes' do), and the latter with the outbox rows push writes too."""
    sample = await conn.fetch("SELECT * FROM intake.reports ORDER BY random() LIMIT 2000")
    if not sample:
        return {"skipped": "no rows to copy"}
    columns = list(sample[0].keys())
    i_id, i_no = columns.index("id"), columns.index("report_no")
    templates = [list(r.values()) for r in sample]
    ob_columns = ["event_id", "type", "aggregate_id", "destination", "payload", "occurred_at", "next_attempt_at"]
    ob_templates = [
        list(r.values()) for r in await conn.fetch(f"SELECT {', '.join(ob_columns)} FROM intake.outbox LIMIT 2000")
    ]
    rng = random.Random(3)
    counter = 0

    def records(n: int) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        nonlocal counter
        recs, obs = [], []
        for t in rng.choices(templates, k=n):
            counter += 1
            rec = list(t)
            rec[i_id] = uuid.uuid4()
            rec[i_no] = f"B{counter:09d}"
            recs.append(tuple(rec))
            if ob_templates:
                ob = list(rng.choice(ob_templates))
                ob[0], ob[2] = uuid.uuid4(), str(rec[i_id])
                obs.append(tuple(ob))
        return recs, obs

    async def timed(conns: list[asyncpg.Connection], with_outbox: bool) -> dict[str, Any]:
        done, lat = 0, []
        meter = CpuMeter({})
        meter.start()
        start = time.perf_counter()
        deadline = start + seconds

        async def worker(c: asyncpg.Connection) -> None:
            nonlocal done
            while done < rows_wanted and time.perf_counter() < deadline:
                recs, obs = records(batch)
                done += batch
                t0 = time.perf_counter()
                if with_outbox:
                    async with c.transaction():
                        await c.copy_records_to_table("reports", schema_name="intake", columns=columns, records=recs)
                        await c.copy_records_to_table("outbox", schema_name="intake", columns=ob_columns, records=obs)
                else:
                    await c.copy_records_to_table("reports", schema_name="intake", columns=columns, records=recs)
                lat.append(time.perf_counter() - t0)

        await asyncio.gather(*(worker(c) for c in conns))
        elapsed = time.perf_counter() - start
        cpu = meter.stop()
        lat.sort()
        return {
            "rows": done,
            "seconds": round(elapsed, 2),
            "rows_per_s": round(done / elapsed, 1),
            "p50_ms": round(pct(lat, 0.5) * 1000, 2),
            "p99_ms": round(pct(lat, 0.99) * 1000, 2),
            "pg_cpu_ms_per_batch": round(
                (cpu.get("pg_bench_backends", 0) + cpu.get("pg_background", 0)) * 1000 / max(len(lat), 1), 2
            ),
            "loadgen_cpu_ms_per_batch": round(cpu.get("loadgen", 0) * 1000 / max(len(lat), 1), 2),
        }

    figures: dict[str, Any] = {}
    one = await timed([conn], False)
    figures.update({f"copy_{k}": v for k, v in one.items()})
    conns = [conn] + [await asyncpg.connect(asyncpg_dsn(url)) for _ in range(parallel - 1)]
    try:
        par = await timed(conns, False)
        figures.update({f"copy{parallel}_{k}": v for k, v in par.items()})
        if ob_templates:
            par_ob = await timed(conns, True)
            figures.update({f"copy{parallel}_with_outbox_{k}": v for k, v in par_ob.items()})
    finally:
        for c in conns[1:]:
            await c.close()
    return figures


# --- setup -----------------------------------------------------------------------------------------


def org_document(phones: int) -> tuple[dict[str, Any], list[str]]:
    demo = yaml.safe_load((ROOT / "deploy" / "demo-org.yaml").read_text(encoding="utf-8"))
    grids: list[str] = []

    def walk(nodes: list[dict[str, Any]]) -> None:
        for node in nodes:
            if node["level"] == "grid":
                grids.append(node["code"])
            walk(node.get("children") or [])

    walk(demo["areas"])
    users = [
        {
            "username": f"bench-w{i:02d}",
            "name": f"压测网格员{i:02d}",
            "role": "grid_worker",
            "areas": [grids[i % len(grids)]],
            "password": PASSWORD,
            "phone": f"139{i:08d}",
        }
        for i in range(phones)
    ]
    return {"areas": demo["areas"], "users": users}, grids


def service_env(url: str, tmp: Path, run_jobs: bool, args: argparse.Namespace, ports: dict[str, int]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "TEST_DATABASE"))}
    env.update(
        DATABASE_URL=url,
        INTAKE_URL=f"http://127.0.0.1:{ports['intake']}",
        CASES_URL=f"http://127.0.0.1:{ports['cases']}",
        NOTIFY_URL=f"http://127.0.0.1:{ports['notify']}",  # nothing listens: notify is not part of this benchmark
        SERVICE_TOKENS="intake:bench-intake-token,cases:bench-cases-token,notify:bench-notify-token",
        PII_KEY="k1:" + base64.b64encode(bytes(range(32))).decode(),
        PII_HASH_KEY="bench-hash-key",
        VAR_DIR=str(tmp),
        ATTACHMENTS_DIR=str(tmp / "attachments"),
        JWT_PRIVATE_KEY_FILE=str(tmp / "jwt.pem"),
        LOG_LEVEL="WARNING",
        RUN_JOBS="true" if run_jobs else "false",
        PYTHONUNBUFFERED="1",
        # each bench phone pushes flat out, far past a real phone's allowance: the per-device limit is off here
        PUSH_RATE_BURST_ITEMS="0",
    )
    if args.push_db_pool:
        env["DB_POOL_SIZE"] = str(args.push_db_pool)
    return env


async def tokens_for(cases: Service, phones: int, grids: list[str]) -> list[Phone]:
    out = []
    async with httpx.AsyncClient(timeout=30) as http:
        for i in range(phones):
            username, device = f"bench-w{i:02d}", f"bench-phone-{i:02d}"
            resp = await http.post(
                f"{cases.url}/v1/auth/token",
                data={"grant_type": "password", "username": username, "password": PASSWORD, "device_id": device},
            )
            if resp.status_code != 200:
                raise RuntimeError(f"token for {username}: {resp.status_code} {resp.text[:300]}")
            out.append(Phone(i, username, device, grids[i % len(grids)], resp.json()["access_token"]))
    return out


def import_org(org_file: Path, env: dict[str, str]) -> None:
    subprocess.run(
        [sys.executable, "-m", "services.cases", "import-org", str(org_file)],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )


# --- main ------------------------------------------------------------------------------------------


async def main(args: argparse.Namespace) -> dict[str, Any]:
    variants = [v.strip().upper() for v in args.push_variants.split(",") if v.strip()]
    clients = [c.strip() for c in args.push_clients.split(",") if c.strip()]
    tmp = Path(tempfile.mkdtemp(prefix="bench-push-"))
    running: list[Service] = []
    figures: dict[str, Any] = {}
    notes: list[str] = []
    t_setup = time.monotonic()
    try:
        url = await prepare_database(BENCH_DB)
        print(f"database {BENCH_DB} recreated and migrated ({url.split('@')[-1]})", flush=True)
        org, grids = org_document(args.push_phones)
        org_file = tmp / "bench-org.json"
        org_file.write_text(json.dumps(org, ensure_ascii=False))
        ports = {"intake": free_port(), "cases": free_port(), "notify": free_port()}
        env_a = service_env(url, tmp, False, args, ports)
        import_org(org_file, env_a)
        maker = BatchMaker(grids, per_grid=400)
        print(
            f"org imported ({args.push_phones} workers on {len(grids)} grids); item templates: "
            f"{sum(len(t) for t in maker.templates.values())}, mean {maker.mean_item_bytes:.0f} B/item "
            f"(a {args.push_batch}-item body ≈ {maker.mean_item_bytes * args.push_batch / 1024:.0f} KiB); "
            f"setup {time.monotonic() - t_setup:.1f}s",
            flush=True,
        )
        figures["item_bytes_mean"] = round(maker.mean_item_bytes)
        conn = await asyncpg.connect(asyncpg_dsn(url))
        try:
            results: dict[str, dict[str, Any]] = {}
            if "A" in variants:
                if args.push_analyze:
                    await conn.execute("ANALYZE")
                cases = await start_service("cases", env_a, ports["cases"], tmp)
                running.append(cases)
                intake = await start_service("intake", env_a, ports["intake"], tmp, args.push_intake_workers)
                running.append(intake)
                phones = await tokens_for(cases, args.push_phones, grids)
                for kind in clients:
                    label = f"A-{kind}"
                    print(
                        f"variant A (RUN_JOBS=false, intake WORKERS={args.push_intake_workers}), client {kind}: "
                        f"{args.warmup:g}s warm-up + {args.seconds:g}s …",
                        flush=True,
                    )
                    results[label] = await run_scenario(
                        label, intake, {"intake": intake, "cases": cases}, phones, kind, maker, args, conn, tmp
                    )
                    print(
                        f"  {results[label]['reports_per_s']:,.0f} reports/s, p50 {results[label]['p50_ms']} ms, "
                        f"p99 {results[label]['p99_ms']} ms, errors {results[label]['errors']}",
                        flush=True,
                    )
                for svc in (intake, cases):
                    await stop_service(svc)
                    running.remove(svc)
            best_a = max(
                (r for k, r in results.items() if k.startswith("A-")), key=lambda r: r["reports_per_s"], default=None
            )
            if not args.push_no_copy:
                want = best_a["reports_accepted"] if best_a else int(TARGET_RATE * args.seconds)
                print(
                    f"COPY ceiling: up to {want:,} rows or {args.push_copy_seconds:g}s per run, {args.push_batch}-row "
                    "batches, one connection …",
                    flush=True,
                )
                figures["copy"] = cp = await copy_ceiling(
                    url, conn, want, args.push_copy_seconds, args.push_batch, args.push_phones
                )
                print(
                    f"  1 connection {cp.get('copy_rows_per_s', 0):,.0f} rows/s; {args.push_phones} connections "
                    f"{cp.get(f'copy{args.push_phones}_rows_per_s', 0):,.0f} rows/s, with outbox rows "
                    f"{cp.get(f'copy{args.push_phones}_with_outbox_rows_per_s', 0):,.0f} rows/s",
                    flush=True,
                )
            if "B" in variants:
                # A's (and COPY's) events were never relayed; do not make B's relay chew through them.
                await conn.execute("UPDATE intake.outbox SET delivered_at = now() WHERE delivered_at IS NULL")
                if args.push_analyze:
                    await conn.execute("ANALYZE")
                env_b = service_env(url, tmp, True, args, ports)
                cases = await start_service("cases", env_b, ports["cases"], tmp)
                running.append(cases)
                intake = await start_service("intake", env_b, ports["intake"], tmp, args.push_intake_workers)
                running.append(intake)
                phones = await tokens_for(cases, args.push_phones, grids)
                kind = clients[0]
                print(
                    f"variant B (RUN_JOBS=true on both: the relay hands reports to cases), client {kind} …", flush=True
                )
                cases_before = await conn.fetchval("SELECT count(*) FROM cases.cases")
                delivered_before = await conn.fetchval(
                    "SELECT count(*) FROM intake.outbox WHERE delivered_at IS NOT NULL"
                )
                t0 = time.monotonic()
                results["B"] = r = await run_scenario(
                    "B", intake, {"intake": intake, "cases": cases}, phones, kind, maker, args, conn, tmp
                )
                wall = time.monotonic() - t0
                pending = await conn.fetchval(
                    "SELECT count(*) FROM intake.outbox WHERE delivered_at IS NULL AND parked_at IS NULL"
                )
                parked = await conn.fetchval("SELECT count(*) FROM intake.outbox WHERE parked_at IS NOT NULL")
                made = await conn.fetchval("SELECT count(*) FROM cases.cases") - cases_before
                delivered = (
                    await conn.fetchval("SELECT count(*) FROM intake.outbox WHERE delivered_at IS NOT NULL")
                    - delivered_before
                )
                r["events_handed_to_cases"] = delivered
                r["events_handed_per_s"] = round(delivered / wall, 1)
                r["cases_opened_during_run"] = made
                r["cases_opened_per_s"] = round(made / wall, 1)
                r["outbox_backlog_at_end"] = pending
                r["outbox_parked"] = parked
                print(
                    f"  {r['reports_per_s']:,.0f} reports/s, p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms, errors "
                    f"{r['errors']}; "
                    f"events handed to cases {delivered:,} ({r['events_handed_per_s']:,.0f}/s), cases opened {made:,} "
                    f"({r['cases_opened_per_s']:,.0f}/s), outbox backlog {pending:,}",
                    flush=True,
                )
                if pending > delivered:
                    notes.append(
                        f"B: the relay fell behind: {delivered:,} events handed to cases during the run, {pending:,} "
                        "waiting "
                        "at its end (cases' intake of events, or the relay's claim query, is slower than push)"
                    )
                for svc in (intake, cases):
                    await stop_service(svc)
                    running.remove(svc)
        finally:
            for svc in list(running):
                await stop_service(svc)
                running.remove(svc)
            # a statement of a stopped service may still run in PostgreSQL (e.g. a slow relay claim): end it
            await conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            await conn.close()
    finally:
        for svc in running:
            await stop_service(svc)
        if args.push_keep:
            print(f"temp dir kept: {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    for label, r in results.items():
        figures[label] = r
    targets: dict[str, bool] = {}
    if best_a:
        figures["reports_per_s"] = best_a["reports_per_s"]
        figures["p50_ms"] = best_a["p50_ms"]
        figures["p99_ms"] = best_a["p99_ms"]
        figures["errors"] = sum(r["errors"] for r in results.values())
        copy_rate = (figures.get("copy") or {}).get("copy_rows_per_s")
        if copy_rate:
            figures["push_over_copy"] = round(best_a["reports_per_s"] / copy_rate, 3)
        par_rate = (figures.get("copy") or {}).get(f"copy{args.push_phones}_with_outbox_rows_per_s")
        if par_rate:
            figures["push_over_copy_parallel_outbox"] = round(best_a["reports_per_s"] / par_rate, 3)
        targets[f"A: >= {TARGET_RATE:,.0f} reports/s sustained, {args.push_phones} phones"] = (
            best_a["reports_per_s"] >= TARGET_RATE
        )
        targets[f"A: p99 batch latency <= {TARGET_P99_MS:.0f} ms"] = best_a["p99_ms"] <= TARGET_P99_MS
    if "B" in results:
        targets[f"B: >= {TARGET_RATE:,.0f} reports/s with the relay running"] = (
            results["B"]["reports_per_s"] >= TARGET_RATE
        )
        targets[f"B: p99 batch latency <= {TARGET_P99_MS:.0f} ms with the relay running"] = (
            results["B"]["p99_ms"] <= TARGET_P99_MS
        )
    figures["targets"] = targets
    for label, r in results.items():
        other = r["cpu_cores"].get("other_processes", 0) + r["cpu_cores"].get("pg_other_databases", 0)
        if other > 0.15:
            notes.append(
                f"{label}: other work on the machine used {other:.2f} cores during the measurement; figures are "
                "pessimistic"
            )
        if not r["rows_stored_check"]:
            notes.append(f"{label}: stored row count does not match the accepted count")
    notes.append(f"machine: {psutil.cpu_count()} cores; load generator, services and PostgreSQL share them")
    figures["notes"] = notes
    print_summary(figures, results, args)
    if figures.get("errors"):
        raise RuntimeError(
            f"push answered {figures['errors']} error(s): "
            + "; ".join(s for r in results.values() for s in r.get("error_samples", [])[:2])
        )
    return figures


def print_summary(figures: dict[str, Any], results: dict[str, dict[str, Any]], args: argparse.Namespace) -> None:
    line = "=" * 78
    print(
        f"\n{line}\nPUSH BENCHMARK SUMMARY  ({args.push_phones} phones × {args.push_batch}-item batches, "
        f"{args.seconds:g}s measured after {args.warmup:g}s warm-up, ~{figures['item_bytes_mean']} B/item)\n{line}"
    )
    print(
        f"{'scenario':<12}{'reports/s':>11}{'batches':>9}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'errors':>8}   cpu "
        "cores: "
        "loadgen/intake/cases/pg"
    )
    for label, r in results.items():
        c = r["cpu_cores"]
        print(
            f"{label:<12}{r['reports_per_s']:>11,.0f}{r['batches']:>9,}{r['p50_ms']:>9.1f}{r['p99_ms']:>9.1f}{r['max_ms']:>9.1f}"
            f"{r['errors']:>8}   {c.get('loadgen', 0):.2f}/{c.get('intake', 0):.2f}/{c.get('cases', 0):.2f}/"
            f"{c.get('pg_bench_backends', 0) + c.get('pg_background', 0):.2f} (other "
            f"{c.get('other_processes', 0) + c.get('pg_other_databases', 0):.2f})"
        )
    copy = figures.get("copy") or {}
    if copy.get("copy_rows_per_s"):
        n = args.push_phones
        print(
            f"COPY ceiling, {args.push_batch}-row COPY per transaction (rows/s, p50 ms, PostgreSQL CPU ms per batch):"
        )
        print(
            f"  1 connection:                 {copy['copy_rows_per_s']:>9,.0f}  {copy['copy_p50_ms']:>6} ms  "
            f"{copy['copy_pg_cpu_ms_per_batch']:>5} ms"
        )
        if copy.get(f"copy{n}_rows_per_s"):
            print(
                f"  {n} connections:               {copy[f'copy{n}_rows_per_s']:>9,.0f}  {copy[f'copy{n}_p50_ms']:>6} "
                f"ms  {copy[f'copy{n}_pg_cpu_ms_per_batch']:>5} ms"
            )
        if copy.get(f"copy{n}_with_outbox_rows_per_s"):
            print(
                f"  {n} connections + outbox rows: {copy[f'copy{n}_with_outbox_rows_per_s']:>9,.0f}  "
                f"{copy[f'copy{n}_with_outbox_p50_ms']:>6} ms  "
                f"{copy[f'copy{n}_with_outbox_pg_cpu_ms_per_batch']:>5} ms"
            )
        if figures.get("push_over_copy") is not None:
            print(
                f"push / COPY(1 connection) = {figures['push_over_copy']:.2f}"
                + (
                    f"; push / COPY({n} connections + outbox) = {figures['push_over_copy_parallel_outbox']:.2f}"
                    if figures.get("push_over_copy_parallel_outbox")
                    else ""
                )
            )
    for label, r in results.items():
        if r.get("profile"):
            print(f"{label}: " + r["profile"])
    for desc, met in figures["targets"].items():
        print(f"[{'MET   ' if met else 'MISSED'}] {desc}")
    print(line, flush=True)


if __name__ == "__main__":
    from run_all import run_standalone

    raise SystemExit(run_standalone(sys.modules[__name__]))
