"""Helpers every test folder may use: ports, the alembic tree, one app under a real uvicorn server, the
test keys, the clock held still, and small reads of a row or a count."""

from __future__ import annotations

import asyncio
import base64
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import uvicorn
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.clock import ManualClock, clock
from shared.pii import PiiCipher

ROOT = Path(__file__).resolve().parent.parent
DEMO_ORG = ROOT / "deploy" / "demo-org.yaml"
DEMO_PASSWORD = "demo-pass-1"  # of every user of the demo org
# each service's own credential on /internal calls (SERVICE_TOKEN of that service; SERVICE_TOKENS of all)
SERVICE_TOKENS = {"intake": "test-intake-token", "cases": "test-cases-token", "notify": "test-notify-token"}
PII_KEY = "k1:" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
PII_HASH_KEY = "test-hash-key"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def relay_of(app: Any) -> Any:
    """A service's outbox relay, from its typed context (shared/context.py)."""
    return app.state.context.relay


def alembic_config(url: str) -> Config:
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.attributes["database_url"] = url
    return cfg


def services_cipher() -> PiiCipher:
    """The cipher the test services use (same keys), for tests that work below the HTTP edge."""
    return PiiCipher(PII_KEY, PII_HASH_KEY)


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


@contextmanager
def manual_clock(start: datetime | None = None) -> Iterator[ManualClock]:
    """The one clock stands still (from `start`, else the real now) and moves only when told."""
    held = ManualClock(start or datetime.now(UTC))
    clock.use(held)
    try:
        yield held
    finally:
        clock.reset()


async def scalar(db: Any, sql: str, **params: Any) -> Any:
    """The first column of the first row of a read, in a unit of work of its own (`db`: a service's
    Database, whose committed state it sees)."""
    async with db.unit_of_work() as session:
        return (await session.execute(text(sql), params)).scalar()


async def rows(db: Any, sql: str, **params: Any) -> list[Any]:
    async with db.unit_of_work() as session:
        return list(await session.execute(text(sql), params))


async def session_scalar(session: AsyncSession, sql: str, **params: Any) -> Any:
    """As `scalar`, inside the test's own session (a rolled-back `db_session`)."""
    return (await session.execute(text(sql), params)).scalar()


# ---- outbox rows: the relay's state forced where a test is about what follows from it ------------------


async def settle_outbox(db: Any, schema: str, *, aggregate_id: str | None = None, event_id: Any = None) -> None:
    """Mark the outbox rows of an aggregate (or of one event) delivered, so no later drain sends them:
    the clean-up after a test that left undeliverable events behind."""
    column, value = ("aggregate_id", aggregate_id) if aggregate_id is not None else ("event_id", event_id)
    async with db.unit_of_work() as session:
        await session.execute(
            text(f"UPDATE {schema}.outbox SET delivered_at = now() WHERE {column} = :v"), {"v": value}
        )


async def undeliver_outbox(db: Any, schema: str, aggregate_id: str | None = None, report_id: str | None = None) -> None:
    """Mark delivered outbox rows undelivered again, as after a 2xx that never reached the relay: those of
    an aggregate, or the report.status events of a report."""
    where, value = (
        ("aggregate_id = :v", aggregate_id)
        if aggregate_id is not None
        else ("type = 'report.status' AND payload->>'report_id' = :v", report_id)
    )
    async with db.unit_of_work() as session:
        await session.execute(text(f"UPDATE {schema}.outbox SET delivered_at = NULL WHERE {where}"), {"v": value})


async def hold_back_outbox_head(db: Any, schema: str, aggregate_id: str, by: timedelta = timedelta(days=1)) -> None:
    """Push the first outbox row of an aggregate's queue `by` into the future (it backs off), so the rows
    behind it wait."""
    async with db.unit_of_work() as session:
        await session.execute(
            text(
                f"""UPDATE {schema}.outbox SET next_attempt_at = next_attempt_at + :by
                    WHERE id = (SELECT min(id) FROM {schema}.outbox WHERE aggregate_id = :a)"""
            ),
            {"a": aggregate_id, "by": by},
        )
