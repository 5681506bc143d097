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


def alembic_config(url: str) -> Any:
    from alembic.config import Config

    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.attributes["database_url"] = url
    return cfg


async def prepare_database(name: str) -> str:
    """Drop and make the bench database `name` (never the test suite's), migrated to head; its URL."""
    from alembic import command

    from shared.devdb import resolve_database_url

    os.environ["TEST_DATABASE_NAME"] = name
    os.environ.pop("TEST_DATABASE_URL", None)  # never reuse (and never drop) the test suite's database
    url = await asyncio.to_thread(resolve_database_url, "test")
    await asyncio.to_thread(command.upgrade, alembic_config(url), "head")
    return url
