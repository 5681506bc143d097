"""What the benches share: the repository root, a free port, a percentile, the asyncpg form of a database
URL, and a bench database of its own made anew and migrated with the real alembic tree."""

from __future__ import annotations

import asyncio
import math
import os
import socket
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(values: list[float], p: float) -> float:
    """The p-th percentile (0-100, nearest rank) of `values` in any order; nan for none."""
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, max(0, math.ceil(p / 100.0 * len(s)) - 1))]


def asyncpg_dsn(url: str, database: str | None = None) -> str:
    """The SQLAlchemy URL as asyncpg takes it (optionally of another database on the same server)."""
    from sqlalchemy.engine import make_url

    u = make_url(url).set(drivername="postgresql")
    if database:
        u = u.set(database=database)
    return u.render_as_string(hide_password=False)


async def _exists(url: str, name: str) -> bool:
    import asyncpg

    conn = await asyncpg.connect(asyncpg_dsn(url, "postgres"))
    try:
        return bool(await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name))
    finally:
        await conn.close()


def alembic_config(url: str) -> Any:
    from alembic.config import Config

    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.attributes["database_url"] = url
    return cfg


async def prepare_database(name: str, reuse: bool = False) -> str:
    """Drop and make the bench database `name` (never the test suite's), migrated to head; its URL. With
    `reuse`, a bench database `name` left by an earlier run (`--...-keep`) is kept and only migrated to head."""
    from alembic import command

    from shared.devdb import LOCAL_SERVER, PG_USER, resolve_database_url

    os.environ["TEST_DATABASE_NAME"] = name
    os.environ.pop("TEST_DATABASE_URL", None)  # never reuse (and never drop) the test suite's database
    url = f"postgresql+asyncpg://{PG_USER}@{LOCAL_SERVER['host']}:{LOCAL_SERVER['port']}/{name}"
    if not reuse or not await _exists(url, name):
        url = await asyncio.to_thread(resolve_database_url, "test")
    await asyncio.to_thread(command.upgrade, alembic_config(url), "head")
    return url
