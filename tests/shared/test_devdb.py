"""Real check of the development database resolver (no mocks, no skips)."""

from __future__ import annotations

import pytest
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import create_async_engine

from shared.devdb import resolve_database_url

SELFTEST_DB = "fengqiao_devdb_selftest"


async def test_resolver_for_test_returns_working_url(monkeypatch: pytest.MonkeyPatch) -> None:
    # A private name, so the suite's own test database is never dropped under it.
    monkeypatch.setenv("TEST_DATABASE_NAME", SELFTEST_DB)
    url = resolve_database_url("test")
    assert url.startswith("postgresql+asyncpg://")

    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            assert (await conn.execute(text("select 1"))).scalar_one() == 1
    finally:
        await engine.dispose()

    if make_url(url).database == SELFTEST_DB:  # not when TEST_DATABASE_URL was used as is
        admin = create_async_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
        try:
            async with admin.connect() as conn:
                await conn.execute(text(f'DROP DATABASE IF EXISTS "{SELFTEST_DB}" WITH (FORCE)'))
        finally:
            await admin.dispose()
