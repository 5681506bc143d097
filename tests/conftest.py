"""The test harness: a real PostgreSQL (TEST_DATABASE_URL, else 127.0.0.1:5432, else an embedded
server), migrated once with the real alembic tree.

Fixtures for every folder (each folder's conftest.py adds its own):
- `database_url` (session): the migrated test database.
- `db_session`: an AsyncSession in a transaction rolled back after the test — for tests that need the
  database only (no server, no committed state seen by another connection).
- `system` (session): the three services as real uvicorn HTTP servers on free ports, with the demo org
  (deploy/demo-org.yaml; password of every user: demo-pass-1) imported — for the cross-service tests.
  `.intake_url`, `.cases_url`, `.notify_url`, `.intake_app`, `.cases_app`, `.services[name].app`,
  `await .drain()`, `await .token(username, device_id=None)`, `await .auth(username)`, `.http`
  (httpx.AsyncClient), `.db_url`, `.settings`, `await .stop_service(name)` / `await .start_service(name)`.
  Relays do not tick on their own in tests: `system.drain()` runs them until nothing is left.
- `http`: the shared httpx.AsyncClient.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import pytest_asyncio
from alembic import command
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

from tests.support import (
    DEMO_ORG,
    DEMO_PASSWORD,
    PII_HASH_KEY,
    PII_KEY,
    SERVICE_TOKENS,
    Served,
    alembic_config,
    free_port,
    relay_of,
)

TOKEN_REUSE_SECONDS = 600  # access tokens live 900 s (CasesSettings.access_token_ttl_seconds)


@dataclass
class System:
    db_url: str
    services: dict[str, Served]
    http: httpx.AsyncClient
    settings: dict[str, Any]
    _tokens: dict[tuple[str, str | None], tuple[str, float]] = field(default_factory=dict)

    @property
    def intake_url(self) -> str:
        return f"http://127.0.0.1:{self.services['intake'].port}"

    @property
    def cases_url(self) -> str:
        return f"http://127.0.0.1:{self.services['cases'].port}"

    @property
    def notify_url(self) -> str:
        return f"http://127.0.0.1:{self.services['notify'].port}"

    @property
    def intake_app(self) -> Any:
        return self.services["intake"].app

    @property
    def cases_app(self) -> Any:
        return self.services["cases"].app

    async def drain(self, rounds: int = 20) -> int:
        """Run every relay until a full pass delivers nothing."""
        total = 0
        for _ in range(rounds):
            n = 0
            for name in ("intake", "cases", "notify"):
                svc = self.services[name]
                if svc.app is not None and svc.server is not None:
                    n += await relay_of(svc.app).run_once()
            total += n
            if n == 0:
                return total
        return total

    async def token(self, username: str, device_id: str | None = None, fresh: bool = False) -> str:
        key = (username, device_id)
        cached = self._tokens.get(key)
        # a cached token is re-issued well before its 15 minutes are up (a slow run outlives it)
        if fresh or cached is None or time.monotonic() - cached[1] > TOKEN_REUSE_SECONDS:
            body = {"grant_type": "password", "username": username, "password": DEMO_PASSWORD}
            if device_id:
                body["device_id"] = device_id
            resp = await self.http.post(f"{self.cases_url}/v1/auth/token", data=body)
            assert resp.status_code == 200, resp.text
            cached = self._tokens[key] = (resp.json()["access_token"], time.monotonic())
        return cached[0]

    async def auth(self, username: str, device_id: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {await self.token(username, device_id)}"}

    async def stop_service(self, name: str) -> None:
        await self.services[name].stop()

    async def start_service(self, name: str) -> None:
        await self.services[name].start()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def database_url() -> str:
    """The test database (dropped and made anew), migrated with the real alembic tree, once a run."""
    from shared.devdb import resolve_database_url

    url = await asyncio.to_thread(resolve_database_url, "test")
    await asyncio.to_thread(command.upgrade, alembic_config(url), "head")
    return url


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def db_engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(database_url, pool_size=2, max_overflow=0)
    yield engine
    await engine.dispose()


@pytest_asyncio.fixture(loop_scope="session")
async def db_session(db_engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    """A session inside a transaction that is rolled back when the test ends, for tests that need only
    the database. The code under test flushes and never commits (a commit of its own would only release
    a savepoint), so nothing it writes outlives the test — nor is it seen by any other connection: such
    a test asks no server."""
    async with db_engine.connect() as conn:
        transaction = await conn.begin()
        session = AsyncSession(
            bind=conn, expire_on_commit=False, autoflush=False, join_transaction_mode="create_savepoint"
        )
        try:
            yield session
        finally:
            await session.close()
            await transaction.rollback()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def system(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Any:
    url = database_url
    tmp = tmp_path_factory.mktemp("var")
    os.environ["VAR_DIR"] = str(tmp)
    ports = {"intake": free_port(), "cases": free_port(), "notify": free_port()}
    common: dict[str, Any] = {
        "database_url": url,
        "intake_url": f"http://127.0.0.1:{ports['intake']}",
        "cases_url": f"http://127.0.0.1:{ports['cases']}",
        "notify_url": f"http://127.0.0.1:{ports['notify']}",
        "service_tokens": SERVICE_TOKENS,
        "pii_key": PII_KEY,
        "pii_hash_key": PII_HASH_KEY,
        "run_jobs": False,
        "log_level": "WARNING",
        "db_pool_size": 5,
    }

    from services.cases.config import CasesSettings
    from services.cases.main import create_app as cases_app
    from services.intake.config import IntakeSettings
    from services.intake.main import create_app as intake_app
    from services.notify.config import NotifySettings
    from services.notify.main import create_app as notify_app

    settings = {
        "cases": CasesSettings(
            **common,
            service_token=SERVICE_TOKENS["cases"],
            port=ports["cases"],
            jwt_private_key_file=str(tmp / "jwt.pem"),
            # every test signs in from 127.0.0.1: the spraying limit is tested on its own (test_sign_in_throttle)
            login_address_free_failures=10_000,
        ),
        "intake": IntakeSettings(
            **common,
            service_token=SERVICE_TOKENS["intake"],
            port=ports["intake"],
            attachments_dir=str(tmp / "attachments"),
        ),
        "notify": NotifySettings(
            **common,
            service_token=SERVICE_TOKENS["notify"],
            port=ports["notify"],
            webhook_allow_private_targets=True,
            webhook_retry_schedule="1s,2s,4s",
            webhook_timeout_seconds=2,
        ),
    }
    services = {
        "cases": Served("cases", lambda: cases_app(settings["cases"]), ports["cases"]),
        "intake": Served("intake", lambda: intake_app(settings["intake"]), ports["intake"]),
        "notify": Served("notify", lambda: notify_app(settings["notify"]), ports["notify"]),
    }
    for svc in services.values():
        await svc.start()
    async with httpx.AsyncClient(timeout=30) as http:
        system = System(db_url=url, services=services, http=http, settings=settings)
        from services.cases.context import CasesContext
        from services.cases.org import service as org
        from shared.context import context_of

        raw = DEMO_ORG.read_bytes()
        async with system.cases_app.state.db.unit_of_work() as session:
            await org.import_org(
                session, org.parse_document(raw, "application/yaml"), context_of(system.cases_app, CasesContext).cipher
            )
        await system.drain()
        yield system
    for svc in services.values():
        await svc.stop()


@pytest_asyncio.fixture(loop_scope="session")
async def http(system: System) -> httpx.AsyncClient:
    return system.http
