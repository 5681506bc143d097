"""The deployment of deploy/compose.yaml, for real on this machine: Debian's pgbouncer in transaction mode in
front of a database of its own, two web processes of each service (`python -m services.<name>`,
RUN_JOBS=false) and one job worker per service (`python -m services.<name> worker`), all through pgbouncer;
intake's LISTEN for long polls goes straight to PostgreSQL. A phone pushes and pulls, a dispatcher whistles
a department, and the department's system (a real HTTP server) gets the signed webhook. Two intake
processes share one ATTACHMENTS_DIR: an upload begun on one is finished on the other and fetched from both.

pgbouncer comes from `make system-packages` (apt, as root). Where it cannot be installed the test is
skipped, saying so; with CI set it fails instead."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import pwd
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio
from aiohttp import web
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import make_url
from standardwebhooks import Webhook

from tests.intake.factories import report
from tests.support import DEMO_PASSWORD as PASSWORD
from tests.support import ROOT, free_port

SERVICES = ("cases", "intake", "notify")
WEB_REPLICAS = 2


def pgbouncer_binary() -> str:
    found = shutil.which("pgbouncer") or next((p for p in ("/usr/sbin/pgbouncer",) if os.access(p, os.X_OK)), None)
    if found:
        return found
    message = "pgbouncer is not installed: `make system-packages` installs Debian's package (as root, with apt-get)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@dataclass
class Process:
    name: str
    port: int
    proc: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class Cluster:
    direct_url: str
    pooled_url: str
    pgbouncer_port: int
    web: dict[str, list[Process]]
    workers: dict[str, Process]
    attachments: Path
    http: httpx.AsyncClient
    procs: list[Process] = field(default_factory=list)

    async def token(self, username: str, device_id: str | None = None, replica: int = 0) -> dict[str, str]:
        body = {"grant_type": "password", "username": username, "password": PASSWORD}
        if device_id:
            body["device_id"] = device_id
        resp = await self.http.post(f"{self.web['cases'][replica].url}/v1/auth/token", data=body)
        assert resp.status_code == 200, resp.text
        return {"Authorization": f"Bearer {resp.json()['access_token']}"}


def _server_of(url: str) -> dict[str, Any]:
    u = make_url(url)
    host = u.query.get("host") or u.host or "127.0.0.1"
    port = int(u.query.get("port") or u.port or 5432)
    return {"host": str(host), "port": port, "user": u.username or "postgres", "password": u.password}


async def _recreate_database(server: dict[str, Any], name: str, create: bool = True) -> None:
    conn = await asyncpg.connect(database="postgres", timeout=10, **server)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if create:
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


def _direct_url(server: dict[str, Any], name: str) -> str:
    auth = server["user"] + (f":{server['password']}" if server["password"] else "")
    if server["host"].startswith("/"):
        return f"postgresql+asyncpg://{auth}@/{name}?host={server['host']}&port={server['port']}"
    return f"postgresql+asyncpg://{auth}@{server['host']}:{server['port']}/{name}"


def _write_pgbouncer_config(folder: Path, server: dict[str, Any], name: str, port: int) -> Path:
    password = f" password={server['password']}" if server["password"] else ""
    ini = folder / "pgbouncer.ini"
    ini.write_text(
        f"""[databases]
{name} = host={server["host"]} port={server["port"]} dbname={name} user={server["user"]}{password}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {folder / "userlist.txt"}
admin_users = {server["user"]}
pool_mode = transaction
max_client_conn = 400
default_pool_size = 20
server_reset_query =
ignore_startup_parameters = extra_float_digits
"""
    )
    (folder / "userlist.txt").write_text(f'"{server["user"]}" ""\n')
    return ini


async def _wait_ready(process: Process, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    async with httpx.AsyncClient(timeout=2) as http:
        while time.monotonic() < deadline:
            if process.proc.poll() is not None:
                raise RuntimeError(f"{process.name} exited:\n{process.log.read_text()[-3000:]}")
            try:
                if (await http.get(f"{process.url}/readyz")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.25)
    raise RuntimeError(f"{process.name} not ready after {seconds} s:\n{process.log.read_text()[-3000:]}")


def _spawn(cmd: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    with open(log, "ab") as out:
        return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def _start(name: str, args: list[str], env: dict[str, str], port: int, logs: Path) -> Process:
    log = logs / f"{name}.log"
    return Process(name, port, _spawn([sys.executable, "-m", *args], log, dict(env, PORT=str(port))), log)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def _admin_query(port: int, user: str, sql: str) -> list[dict[str, str | None]]:
    """pgbouncer's admin console speaks only the simple query protocol (asyncpg's fetch uses the extended
    one): a minimal client of it, trust authentication."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    params = b"user\0" + user.encode() + b"\0database\0pgbouncer\0\0"
    writer.write(struct.pack("!ii", len(params) + 8, 196608) + params)
    writer.write(b"Q" + struct.pack("!i", len(sql) + 5) + sql.encode() + b"\0")
    await writer.drain()
    columns: list[str] = []
    rows: list[dict[str, str | None]] = []
    queried = False
    try:
        while True:
            kind = await reader.readexactly(1)
            body = await reader.readexactly(struct.unpack("!i", await reader.readexactly(4))[0] - 4)
            if kind == b"E":
                raise RuntimeError(f"pgbouncer admin: {body!r}")
            if kind == b"T":
                count, pos = struct.unpack("!h", body[:2])[0], 2
                for _ in range(count):
                    end = body.index(b"\0", pos)
                    columns.append(body[pos:end].decode())
                    pos = end + 1 + 18
            elif kind == b"D":
                count, pos, values = struct.unpack("!h", body[:2])[0], 2, []
                for _ in range(count):
                    size = struct.unpack("!i", body[pos : pos + 4])[0]
                    pos += 4
                    values.append(None if size < 0 else body[pos : pos + size].decode())
                    pos += max(size, 0)
                rows.append(dict(zip(columns, values, strict=True)))
            elif kind == b"Z":
                if queried:
                    return rows
                queried = True  # the first ReadyForQuery ends the start-up; the second, the query
    finally:
        writer.close()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def cluster(system: Any) -> AsyncIterator[Cluster]:
    binary = pgbouncer_binary()
    server = _server_of(system.db_url)
    name = (os.environ.get("TEST_DATABASE_NAME") or "fengqiao_test") + "_pgbouncer"
    await _recreate_database(server, name)
    direct = _direct_url(server, name)
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.attributes["database_url"] = direct
    await asyncio.to_thread(command.upgrade, cfg, "head")

    tmp = Path(tempfile.mkdtemp(prefix="fq-pgbouncer-"))
    bouncer_port = free_port()
    ini = _write_pgbouncer_config(tmp, server, name, bouncer_port)
    cmd = [binary, str(ini)]
    if os.geteuid() == 0:  # pgbouncer refuses to run as root: it reads its files, then becomes `postgres`
        user = next(u for u in ("postgres", "nobody") if _has_user(u))
        cmd[1:1] = ["-u", user]
    bouncer = _spawn(cmd, tmp / "pgbouncer.log")
    pooled = f"postgresql+asyncpg://{server['user']}@127.0.0.1:{bouncer_port}/{name}?prepared_statement_cache_size=0"
    for _ in range(100):
        try:
            conn = await asyncpg.connect(pooled.replace("+asyncpg", "").split("?")[0], statement_cache_size=0)
            await conn.close()
            break
        except (OSError, asyncpg.PostgresError):
            if bouncer.poll() is not None:
                raise RuntimeError((tmp / "pgbouncer.log").read_text()) from None
            await asyncio.sleep(0.1)

    ports = {svc: [free_port() for _ in range(WEB_REPLICAS + 1)] for svc in SERVICES}
    attachments = tmp / "attachments"
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "TEST_DATABASE", "RUN_JOBS"))}
    base.update(
        DATABASE_URL=pooled,
        LISTEN_DATABASE_URL=direct,
        SERVICE_TOKENS="intake:pgb-intake-token,cases:pgb-cases-token,notify:pgb-notify-token",
        PII_KEY="k1:" + base64.b64encode(bytes(range(32))).decode(),
        PII_HASH_KEY="pgbouncer-hash-key",
        VAR_DIR=str(tmp / "var"),
        ATTACHMENTS_DIR=str(attachments),
        JWT_PRIVATE_KEY_FILE=str(tmp / "jwt.pem"),
        JWT_ISSUER="fengqiao-cases",  # one issuer for every replica (CASES_URL differs per replica here)
        WEBHOOK_ALLOW_PRIVATE_TARGETS="true",
        WEBHOOK_RETRY_SCHEDULE="1s,2s,4s",
        DB_POOL_SIZE="3",
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )

    def env_for(replica: int, run_jobs: bool) -> dict[str, str]:
        # web replica 0 calls the other services' replica 0, the rest (and the workers) replica 1, as a load
        # balancer in front of them would spread the calls
        target = 0 if replica == 0 else 1
        return dict(
            base,
            RUN_JOBS="true" if run_jobs else "false",
            INTAKE_URL=f"http://127.0.0.1:{ports['intake'][target]}",
            CASES_URL=f"http://127.0.0.1:{ports['cases'][target]}",
            NOTIFY_URL=f"http://127.0.0.1:{ports['notify'][target]}",
        )

    logs = tmp / "logs"
    logs.mkdir()
    procs: list[Process] = []
    http = httpx.AsyncClient(timeout=30)
    try:
        await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "services.cases", "import-org", "deploy/demo-org.yaml"],
            cwd=ROOT,
            env=env_for(0, False),
            check=True,
            capture_output=True,
            timeout=120,
        )
        first = _start("cases-0", ["services.cases"], env_for(0, False), ports["cases"][0], logs)
        procs.append(first)
        await _wait_ready(first)  # it writes the signing key every cases process then reads
        web: dict[str, list[Process]] = {"cases": [first]}
        for svc in SERVICES:
            for i in range(WEB_REPLICAS):
                if svc == "cases" and i == 0:
                    continue
                p = _start(f"{svc}-{i}", [f"services.{svc}"], env_for(i, False), ports[svc][i], logs)
                procs.append(p)
                web.setdefault(svc, []).append(p)
        workers = {}
        for svc in SERVICES:
            p = _start(f"{svc}-worker", [f"services.{svc}", "worker"], env_for(1, True), ports[svc][-1], logs)
            procs.append(p)
            workers[svc] = p
        await asyncio.gather(*(_wait_ready(p) for p in procs))
        yield Cluster(direct, pooled, bouncer_port, web, workers, attachments, http, procs)
    finally:
        await http.aclose()
        await asyncio.gather(*(asyncio.to_thread(_stop, p.proc) for p in procs))
        _stop(bouncer)
        if not any("Traceback" in p.log.read_text() for p in procs):
            shutil.rmtree(tmp, ignore_errors=True)  # else kept: the logs say what went wrong
        await _recreate_database(server, name, create=False)


def _has_user(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


class DepartmentSystem:
    """A department's system: an aiohttp server that records the webhooks it is sent."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.arrived = asyncio.Event()
        self.runner: web.AppRunner | None = None
        self.port = 0

    async def _hook(self, request: web.Request) -> web.Response:
        self.received.append((dict(request.headers), await request.read()))
        self.arrived.set()
        return web.Response(text="ok")

    async def __aenter__(self) -> DepartmentSystem:
        app = web.Application()
        app.router.add_post("/hook", self._hook)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        self.port = free_port()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.runner is not None
        await self.runner.cleanup()


async def test_push_pull_whistle_and_webhook_work_through_pgbouncer(cluster: Cluster):
    http, intake, cases, notify = cluster.http, cluster.web["intake"], cluster.web["cases"], cluster.web["notify"]
    phone = await cluster.token("w001", "pgbouncer-phone", replica=0)
    dispatcher = await cluster.token("d001", replica=1)
    admin = await cluster.token("admin", replica=0)
    secret = "whsec_" + base64.b64encode(os.urandom(32)).decode()

    async with DepartmentSystem() as department:
        hook = {"url": f"http://127.0.0.1:{department.port}/hook", "secret": secret}
        for _ in range(300):  # the org's directory reaches notify through cases' outbox, asynchronously
            resp = await http.put(f"{notify[1].url}/v1/endpoints/PS-DL", json=hook, headers=admin)
            if resp.status_code != 404:
                break
            await asyncio.sleep(0.1)
        assert resp.status_code == 200, resp.text

        snapshot = await http.get(f"{intake[1].url}/v1/sync/pull", headers=phone)
        assert snapshot.status_code == 200, snapshot.text
        cursor = snapshot.json()["cursor"]
        # a long poll waits on intake 1 while the push lands on intake 0: the worker's relay takes the report to
        # cases, cases' worker tells intake, and the feed's NOTIFY reaches intake 1's direct LISTEN session
        poll = asyncio.create_task(
            http.get(f"{intake[1].url}/v1/sync/pull", params={"cursor": cursor, "wait": 25}, headers=phone)
        )
        item = report(flags=[], category="neighbour", people_involved=2)
        pushed = await http.post(
            f"{intake[0].url}/v1/sync/push", json={"device_id": "pgbouncer-phone", "items": [item]}, headers=phone
        )
        assert pushed.status_code == 200 and pushed.json()["results"][0]["status"] == "accepted", pushed.text
        changes = (await poll).json()["changes"]
        async with asyncio.timeout(30):
            while not [c for c in changes if c["data"].get("report_id") == item["id"]]:
                await asyncio.sleep(0.3)
                again = await http.get(f"{intake[0].url}/v1/sync/pull", params={"cursor": cursor}, headers=phone)
                changes = again.json()["changes"]
        (status,) = [c for c in changes if c["data"].get("report_id") == item["id"]]
        assert status["type"] == "report.status" and status["data"]["case_number"].startswith("C")

        found = await http.get(
            f"{cases[0].url}/v1/cases", params={"report": pushed.json()["results"][0]["report_no"]}, headers=dispatcher
        )
        (case,) = found.json()["items"]
        graded = await http.post(f"{cases[1].url}/v1/cases/{case['id']}/grade", json={}, headers=dispatcher)
        assert graded.status_code == 200, graded.text
        whistle = {"departments": [{"code": "PS-DL", "role": "lead"}], "reason": "请牵头处理"}
        whistled = await http.post(f"{cases[0].url}/v1/cases/{case['id']}/whistle", json=whistle, headers=dispatcher)
        assert whistled.status_code == 200, whistled.text

        async with asyncio.timeout(30):
            while not any(b'"whistle.' in body for _, body in department.received):
                department.arrived.clear()
                await department.arrived.wait()
        headers, body = next((h, b) for h, b in department.received if b'"whistle.' in b)
        event = Webhook(secret).verify(body, {k.lower(): v for k, v in headers.items()})
        assert event["type"].startswith("whistle.") and case["id"] in body.decode()

    # intake's LISTEN sessions (two web processes and the worker) are direct, none is one of pgbouncer's
    direct = await asyncpg.connect(cluster.direct_url.replace("+asyncpg", ""))
    try:
        listening = {
            r["pid"]
            for r in await direct.fetch(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                " AND application_name = 'fengqiao-intake-feed' AND query LIKE 'LISTEN%'"
            )
        }
    finally:
        await direct.close()
    assert len(listening) == WEB_REPLICAS + 1
    servers = await _admin_query(cluster.pgbouncer_port, _server_of(cluster.direct_url)["user"], "SHOW SERVERS")
    assert servers and not listening & {int(s["remote_pid"] or 0) for s in servers}
    for p in cluster.procs:
        assert "Traceback" not in p.log.read_text(), f"{p.name}:\n{p.log.read_text()[-3000:]}"


async def test_an_upload_begun_on_one_intake_is_finished_on_the_other_and_served_by_both(cluster: Cluster):
    http, intake = cluster.http, cluster.web["intake"]
    phone = {**(await cluster.token("w001", "pgbouncer-phone-2")), "Tus-Resumable": "1.0.0"}
    data = b"\xff\xd8\xff\xe0" + os.urandom(300_000)
    digest = hashlib.sha256(data).hexdigest()
    meta = f"sha256 {base64.b64encode(digest.encode()).decode()},filetype {base64.b64encode(b'image/jpeg').decode()}"
    created = await http.post(
        f"{intake[0].url}/v1/attachments", headers={**phone, "Upload-Length": str(len(data)), "Upload-Metadata": meta}
    )
    assert created.status_code == 201, created.text
    location = created.headers["location"]
    octets = {**phone, "Content-Type": "application/offset+octet-stream"}
    half = len(data) // 2
    first = await http.patch(
        f"{intake[0].url}{location}", headers={**octets, "Upload-Offset": "0"}, content=data[:half]
    )
    assert first.status_code == 204, first.text
    state = await http.head(f"{intake[1].url}{location}", headers=phone)
    assert state.headers["upload-offset"] == str(half)
    rest = await http.patch(
        f"{intake[1].url}{location}", headers={**octets, "Upload-Offset": str(half)}, content=data[half:]
    )
    assert rest.status_code == 204, rest.text
    for replica in intake:
        got = await http.get(f"{replica.url}/v1/attachments/{digest}", headers=phone)
        assert got.status_code == 200 and got.content == data, (replica.name, got.status_code)
    assert (cluster.attachments / "sha256" / digest[:2] / digest[2:4] / digest).read_bytes() == data
