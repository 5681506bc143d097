"""The alembic tree upgrades from empty and downgrades cleanly."""
from __future__ import annotations

import asyncio
import os

import asyncpg
from alembic import command

from conftest import alembic_config


async def test_upgrade_from_empty_downgrade_and_upgrade_again():
    from shared.devdb import resolve_database_url

    os.environ.setdefault("TEST_DATABASE_NAME", "fengqiao_test")
    name = os.environ["TEST_DATABASE_NAME"] + "_migr"
    old = os.environ["TEST_DATABASE_NAME"]
    os.environ["TEST_DATABASE_NAME"] = name
    try:
        url = await asyncio.to_thread(resolve_database_url, "test")
    finally:
        os.environ["TEST_DATABASE_NAME"] = old
    if os.environ.get("TEST_DATABASE_URL"):
        return  # a named database is not ours to wipe; the session fixture has migrated it already
    cfg = alembic_config(url)
    dsn = url.replace("postgresql+asyncpg://", "postgresql://")

    async def schemas() -> set[str]:
        conn = await asyncpg.connect(dsn)
        try:
            rows = await conn.fetch("SELECT nspname FROM pg_namespace WHERE nspname IN ('intake','cases','notify')")
            return {r["nspname"] for r in rows}
        finally:
            await conn.close()

    await asyncio.to_thread(command.upgrade, cfg, "head")
    assert await schemas() == {"intake", "cases", "notify"}
    await asyncio.to_thread(command.downgrade, cfg, "base")
    assert await schemas() == set()
    await asyncio.to_thread(command.upgrade, cfg, "head")
    assert await schemas() == {"intake", "cases", "notify"}
