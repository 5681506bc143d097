"""The test harness: a real PostgreSQL (TEST_DATABASE_URL, else 127.0.0.1:5432, else an embedded
server), migrated with the real alembic tree, and the three services running as real uvicorn HTTP
servers on free ports. Relays do not tick on their own in tests: `system.drain()` runs them until
nothing is left, so tests are deterministic.

Fixtures:
- `system` (session): `.intake_url`, `.cases_url`, `.notify_url`, `.intake_app`, `.cases_app`,
  `.notify_app`, `await .drain()`, `await .token(username, device_id=None)`, `.http` (httpx.AsyncClient),
  `.db_url`, `await .stop_service(name)` / `await .start_service(name)`.
- `http`: the shared httpx.AsyncClient.
- `worker_token(username)` style helpers live on `system`.
Demo org: deploy/demo-org.yaml (password of every user: demo-pass-1).
"""

from __future__ import annotations

import asyncio
import base64
import os
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
import uvicorn
from alembic import command
from alembic.config import Config

ROOT = Path(__file__).resolve().parent.parent
DEMO_PASSWORD = "demo-pass-1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def relay_of(app: Any) -> Any:
    """A service's outbox relay: in its typed context (shared/context.py), else still on app.state."""
    context = getattr(app.state, "context", None)
    return getattr(context, "relay", None) or app.state.relay


def alembic_config(url: str) -> Config:
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.attributes["database_url"] = url
    return cfg


class Served:
    """One app under a real uvicorn server inside the test's event loop."""

    def __init__(self, name: str, factory: Any, port: int) -> None:
        self.name = name
        self.factory = factory
        self.port = port
        self.app: Any = None
        self.server: uvicorn.Server | None = None
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.app = self.factory()
        config = uvicorn.Config(
            self.app, host="127.0.0.1", port=self.port, log_config=None, access_log=False, lifespan="on"
        )
        self.server = uvicorn.Server(config)
        self.server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
        self.task = asyncio.create_task(self.server.serve())
        for _ in range(500):
            if self.server.started:
                return
            if self.task.done():
                self.task.result()
            await asyncio.sleep(0.01)
        raise RuntimeError(f"{self.name} did not start")

    async def stop(self) -> None:
        if self.server and self.task:
            self.server.should_exit = True
            await self.task
        self.server = None
        self.task = None


@dataclass
class System:
    db_url: str
    services: dict[str, Served]
    http: httpx.AsyncClient
    settings: dict[str, Any]
    _tokens: dict[tuple[str, str | None], str] = field(default_factory=dict)

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
        if fresh or key not in self._tokens:
            body = {"grant_type": "password", "username": username, "password": DEMO_PASSWORD}
            if device_id:
                body["device_id"] = device_id
            resp = await self.http.post(f"{self.cases_url}/v1/auth/token", data=body)
            assert resp.status_code == 200, resp.text
            self._tokens[key] = resp.json()["access_token"]
        return self._tokens[key]

    async def auth(self, username: str, device_id: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {await self.token(username, device_id)}"}

    async def stop_service(self, name: str) -> None:
        await self.services[name].stop()

    async def start_service(self, name: str) -> None:
        await self.services[name].start()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def system(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from shared.devdb import resolve_database_url

    url = await asyncio.to_thread(resolve_database_url, "test")
    await asyncio.to_thread(command.upgrade, alembic_config(url), "head")

    tmp = tmp_path_factory.mktemp("var")
    os.environ["VAR_DIR"] = str(tmp)
    ports = {"intake": free_port(), "cases": free_port(), "notify": free_port()}
    common: dict[str, Any] = {
        "database_url": url,
        "intake_url": f"http://127.0.0.1:{ports['intake']}",
        "cases_url": f"http://127.0.0.1:{ports['cases']}",
        "notify_url": f"http://127.0.0.1:{ports['notify']}",
        "service_token": "test-service-token",
        "pii_key": "k1:" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode(),
        "pii_hash_key": "test-hash-key",
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
        "cases": CasesSettings(**common, port=ports["cases"], jwt_private_key_file=str(tmp / "jwt.pem")),
        "intake": IntakeSettings(**common, port=ports["intake"], attachments_dir=str(tmp / "attachments")),
        "notify": NotifySettings(
            **common,
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

        raw = (ROOT / "deploy" / "demo-org.yaml").read_bytes()
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
