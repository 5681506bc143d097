"""A service keeps answering while PostgreSQL restarts: 503 problem+json with Retry-After (never 500)
while the database is away, and it recovers by itself once the database is back.

The shared test server (127.0.0.1:5432) is never touched: the test runs its own embedded PostgreSQL
(pgserver binaries) in a temporary data directory, migrates it, runs cases and intake on it as real
uvicorn servers, stops and restarts that PostgreSQL, and removes everything at the end.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from alembic import command

from tests.intake.factories import report
from tests.support import DEMO_PASSWORD, ROOT, Served, alembic_config, free_port, relay_of

DATABASE = "fengqiao_restart"
PROBLEM = "application/problem+json"
RECOVERY_SECONDS = 15.0


class PrivatePostgres:
    """An embedded PostgreSQL in its own temporary data directory, on a unix socket only.

    As root, PostgreSQL runs as the unprivileged system user `pgserver` (as shared/devdb.py does via
    pgserver), so initdb and pg_ctl run as the data directory's owner."""

    def __init__(self) -> None:
        # A short path under /tmp so that the socket path fits the unix-socket length limit.
        self.base = Path(tempfile.mkdtemp(prefix="fq-pgrestart-", dir="/tmp")).resolve()
        self.data_dir = self.base / "data"
        self.log = self.base / "postgres.log"
        self.user: str | None = None

    @staticmethod
    def _pgserver() -> Any:
        from shared.devdb import _import_pgserver

        return _import_pgserver()

    def init(self) -> None:
        pgserver = self._pgserver()
        self.data_dir.mkdir()
        if os.geteuid() == 0:
            import stat

            from pgserver import utils

            self.user = "pgserver"
            entry = utils.ensure_user_exists(self.user)
            bin_path = pgserver._commands.POSTGRES_BIN_PATH
            utils.ensure_prefix_permissions(self.data_dir)
            utils.ensure_prefix_permissions(bin_path)
            read = stat.S_IRGRP | stat.S_IROTH
            utils.ensure_folder_permissions(bin_path, stat.S_IXGRP | stat.S_IXOTH | read)
            utils.ensure_folder_permissions(bin_path.parent / "lib", read)
            os.chown(self.base, entry.pw_uid, entry.pw_gid)
            os.chown(self.data_dir, entry.pw_uid, entry.pw_gid)
        pgserver.initdb(
            ["--auth=trust", "--auth-local=trust", "--encoding=utf8", "-U", "postgres"],
            pgdata=self.data_dir,
            user=self.user,
            cwd="/",
        )

    def start(self) -> None:
        self._pgserver().pg_ctl(
            ["-w", "-t", "30", "-o", '-h ""', "-o", f"-k {self.data_dir}", "-l", str(self.log), "start"],
            pgdata=self.data_dir,
            user=self.user,
            cwd="/",
            timeout=60,
        )

    def stop(self, mode: str = "fast") -> None:
        self._pgserver().pg_ctl(
            ["-w", "-t", "30", "-m", mode, "stop"], pgdata=self.data_dir, user=self.user, cwd="/", timeout=60
        )

    def running(self) -> bool:
        return (self.data_dir / "postmaster.pid").exists()

    def destroy(self) -> None:
        try:
            if self.running():
                self.stop("immediate")
        finally:
            shutil.rmtree(self.base, ignore_errors=True)

    @property
    def server(self) -> dict[str, Any]:
        return {"host": str(self.data_dir), "port": 5432}

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://postgres@/{database}?host={self.data_dir}&port=5432"

    async def migrated(self, name: str) -> str:
        """Start the server, create database `name`, run the migrations; returns its URL."""
        await asyncio.to_thread(self.init)
        await asyncio.to_thread(self.start)
        await self.create_database(name)
        url = self.url(name)
        await asyncio.to_thread(command.upgrade, alembic_config(url), "head")
        return url

    async def create_database(self, name: str) -> None:
        conn = await asyncpg.connect(user="postgres", database="postgres", timeout=10, **self.server)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()


RESTART_TOKENS = {"intake": "restart-intake-token", "cases": "restart-cases-token", "notify": "restart-notify-token"}


def _settings(url: str, ports: dict[str, int], tmp: Path) -> dict[str, Any]:
    from services.cases.config import CasesSettings
    from services.intake.config import IntakeSettings

    common: dict[str, Any] = {
        "database_url": url,
        "intake_url": f"http://127.0.0.1:{ports['intake']}",
        "cases_url": f"http://127.0.0.1:{ports['cases']}",
        "notify_url": f"http://127.0.0.1:{free_port()}",
        "service_tokens": RESTART_TOKENS,
        "pii_key": "k1:" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode(),
        "pii_hash_key": "restart-hash-key",
        "run_jobs": False,
        "log_level": "WARNING",
        "db_pool_size": 3,
    }
    return {
        "cases": CasesSettings(
            **common,
            service_token=RESTART_TOKENS["cases"],
            port=ports["cases"],
            jwt_private_key_file=str(tmp / "jwt.pem"),
        ),
        "intake": IntakeSettings(
            **common,
            service_token=RESTART_TOKENS["intake"],
            port=ports["intake"],
            attachments_dir=str(tmp / "attachments"),
        ),
    }


def _describe(resp: httpx.Response) -> str:
    request = f"{resp.request.method} {resp.request.url.path}"
    return f"{request} → {resp.status_code} {resp.headers.get('content-type')} {resp.text[:300]}"


def _assert_unavailable(resp: httpx.Response) -> None:
    assert resp.status_code == 503, _describe(resp)
    assert resp.headers.get("retry-after", "").isdigit(), f"no Retry-After: {_describe(resp)}"
    assert resp.headers.get("content-type", "").startswith(PROBLEM), _describe(resp)
    body = resp.json()
    assert {"type", "title", "status", "detail"} <= body.keys(), body
    assert body["status"] == 503, body


async def test_service_answers_503_while_postgres_is_away_and_recovers_by_itself(tmp_path: Path) -> None:
    pg = PrivatePostgres()
    try:
        url = await pg.migrated(DATABASE)

        from services.cases.main import create_app as cases_app
        from services.intake.main import create_app as intake_app

        ports = {"cases": free_port(), "intake": free_port()}
        settings = _settings(url, ports, tmp_path)
        cases = Served("cases", lambda: cases_app(settings["cases"]), ports["cases"])
        intake = Served("intake", lambda: intake_app(settings["intake"]), ports["intake"])
        try:
            await cases.start()
            await intake.start()
            await _exercise(pg, cases, f"http://127.0.0.1:{ports['cases']}", f"http://127.0.0.1:{ports['intake']}")
        finally:
            await _stop_quietly(intake, cases)
    finally:
        await asyncio.to_thread(pg.destroy)


async def _stop_quietly(*services: Served) -> None:
    for svc in services:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(svc.stop(), 30)


def _cases_context(app: Any) -> Any:
    from services.cases.context import CasesContext
    from shared.context import context_of

    return context_of(app, CasesContext)


async def _exercise(pg: PrivatePostgres, cases: Served, cases_url: str, intake_url: str) -> None:
    from services.cases.org import service as org

    raw = (ROOT / "deploy" / "demo-org.yaml").read_bytes()
    async with cases.app.state.db.unit_of_work() as session:
        await org.import_org(session, org.parse_document(raw, "application/yaml"), _cases_context(cases.app).cipher)
    await relay_of(cases.app).run_once()  # the directory reaches intake (grid binding needs it)

    async with httpx.AsyncClient(timeout=20) as http:

        async def token(username: str, device_id: str | None = None) -> dict[str, str]:
            body = {"grant_type": "password", "username": username, "password": DEMO_PASSWORD}
            if device_id:
                body["device_id"] = device_id
            resp = await http.post(f"{cases_url}/v1/auth/token", data=body)
            assert resp.status_code == 200, _describe(resp)
            return {"Authorization": f"Bearer {resp.json()['access_token']}"}

        dispatcher = await token("d001")
        worker = await token("w001", "dev-restart")

        async def list_cases() -> httpx.Response:
            return await http.get(f"{cases_url}/v1/cases", headers=dispatcher)

        async def push() -> httpx.Response:
            return await http.post(
                f"{intake_url}/v1/sync/push", json={"device_id": "dev-restart", "items": [report()]}, headers=worker
            )

        async def ready(base: str) -> httpx.Response:
            return await http.get(f"{base}/readyz")

        async def pull() -> httpx.Response:
            return await http.get(f"{intake_url}/v1/sync/pull", headers=worker)

        calls = {
            "GET cases /v1/cases": list_cases,
            "POST intake /v1/sync/push": push,
            "GET intake /v1/sync/pull": pull,
            "GET cases /readyz": lambda: ready(cases_url),
            "GET intake /readyz": lambda: ready(intake_url),
        }

        # Baseline: everything works (this also warms intake's JWKS cache and both pools).
        for name, call in calls.items():
            resp = await call()
            assert resp.status_code == 200, f"{name}: {_describe(resp)}"
        assert (await push()).json()["results"][0]["status"] == "accepted"

        await asyncio.to_thread(pg.stop, "fast")
        assert not pg.running()

        for _ in range(3):
            for name, call in calls.items():
                resp = await call()
                assert resp.status_code != 500, f"{name}: 500 while the database is away: {_describe(resp)}"
                _assert_unavailable(resp)
        # Health of the process itself does not depend on the database.
        for base in (cases_url, intake_url):
            assert (await http.get(f"{base}/healthz")).status_code == 200

        await asyncio.to_thread(pg.start)

        # Same processes, same pools: they must come back by themselves within a bounded time.
        deadline = time.monotonic() + RECOVERY_SECONDS
        pending = dict(calls)
        last: dict[str, str] = {}
        while pending and time.monotonic() < deadline:
            for name, call in list(pending.items()):
                resp = await call()
                assert resp.status_code != 500, f"{name}: 500 while the database comes back: {_describe(resp)}"
                if resp.status_code == 200:
                    del pending[name]
                else:
                    _assert_unavailable(resp)
                    last[name] = _describe(resp)
            if pending:
                await asyncio.sleep(0.25)
        assert not pending, f"not recovered within {RECOVERY_SECONDS}s: {[last.get(n, n) for n in pending]}"

        # And real work goes through again: a new report is stored, the dispatcher's list answers.
        item = report()
        resp = await http.post(
            f"{intake_url}/v1/sync/push", json={"device_id": "dev-restart", "items": [item]}, headers=worker
        )
        assert resp.status_code == 200, _describe(resp)
        assert resp.json()["results"][0]["status"] == "accepted", resp.text
        resp = await list_cases()
        assert resp.status_code == 200 and "items" in resp.json(), _describe(resp)
        # A token can be issued again (a database write on cases).
        await token("d001")


async def test_cases_starts_with_postgres_down_answers_503_and_serves_once_it_is_there(tmp_path: Path) -> None:
    from datetime import date

    from services.cases.calendar import repository as calendar_overrides
    from services.cases.main import create_app as cases_app
    from shared.clock import clock
    from shared.db import Database

    pg = PrivatePostgres()
    try:
        url = await pg.migrated(DATABASE)
        # a local day off that only the override table knows: proof that the calendar was read once the database came
        holiday = date(2026, 3, 4)  # an ordinary Wednesday
        db = Database(url, pool_size=1)
        try:
            async with db.unit_of_work() as session:
                await calendar_overrides.set_override(session, holiday, False, "本地放假", clock.now())
        finally:
            await db.dispose()
        await asyncio.to_thread(pg.stop, "fast")

        ports = {"cases": free_port(), "intake": free_port()}
        settings = _settings(url, ports, tmp_path)["cases"]
        settings.startup_retry_seconds = 0.2
        cases = Served("cases", lambda: cases_app(settings), ports["cases"])
        base = f"http://127.0.0.1:{ports['cases']}"
        try:
            await cases.start()  # starts although PostgreSQL is down
            async with httpx.AsyncClient(timeout=20) as http:
                assert (await http.get(f"{base}/healthz")).status_code == 200
                assert (await http.get(f"{base}/.well-known/jwks.json")).status_code == 200
                for resp in (
                    await http.get(f"{base}/readyz"),
                    await http.get(f"{base}/v1/cases", headers={"Authorization": "Bearer x"}),
                    await http.post(
                        f"{base}/v1/auth/token",
                        data={"grant_type": "password", "username": "d001", "password": DEMO_PASSWORD},
                    ),
                ):
                    _assert_unavailable(resp)
                assert _cases_context(cases.app).loaded_domain is None

                await asyncio.to_thread(pg.start)
                # the service's own background retry finds the database and loads the calendar
                await asyncio.wait_for(asyncio.shield(cases.app.state.domain_loader), RECOVERY_SECONDS)
                resp = await http.get(f"{base}/readyz")
                assert resp.status_code == 200, _describe(resp)
                assert _cases_context(cases.app).domain.deadlines.calendar.is_workday(holiday)[0] is False

                from services.cases.org import service as org

                raw = (ROOT / "deploy" / "demo-org.yaml").read_bytes()
                async with cases.app.state.db.unit_of_work() as session:
                    await org.import_org(
                        session, org.parse_document(raw, "application/yaml"), _cases_context(cases.app).cipher
                    )
                resp = await http.post(
                    f"{base}/v1/auth/token",
                    data={"grant_type": "password", "username": "d001", "password": DEMO_PASSWORD},
                )
                assert resp.status_code == 200, _describe(resp)
                listed = await http.get(
                    f"{base}/v1/cases", headers={"Authorization": f"Bearer {resp.json()['access_token']}"}
                )
                assert listed.status_code == 200, _describe(listed)
        finally:
            await _stop_quietly(cases)
    finally:
        await asyncio.to_thread(pg.destroy)
