"""The alembic tree upgrades from empty and downgrades cleanly."""

from __future__ import annotations

import asyncio
import os

import asyncpg
from alembic import command
from sqlalchemy.engine import make_url

from tests.support import alembic_config


async def _own_database_beside(env_url: str, name: str) -> str:
    """A fresh empty database of our own on the server of TEST_DATABASE_URL (that one is not ours to wipe)."""
    parsed = make_url(env_url)
    admin = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(admin)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return parsed.set(database=name).render_as_string(hide_password=False)


async def test_upgrade_from_empty_downgrade_and_upgrade_again():
    from shared.devdb import resolve_database_url

    os.environ.setdefault("TEST_DATABASE_NAME", "fengqiao_test")
    name = os.environ["TEST_DATABASE_NAME"] + "_migr"
    env_url = os.environ.get("TEST_DATABASE_URL")
    if env_url:
        url = await _own_database_beside(env_url, name)
    else:
        old = os.environ["TEST_DATABASE_NAME"]
        os.environ["TEST_DATABASE_NAME"] = name
        try:
            url = await asyncio.to_thread(resolve_database_url, "test")
        finally:
            os.environ["TEST_DATABASE_NAME"] = old
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


async def test_models_declare_every_column_the_migrations_create(system):
    """Autogenerate against the migrated database proposes no column to add or drop: a column only a
    migration knows (e.g. cases.refresh_tokens.replaced_by) would otherwise be dropped by the next revision."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy.ext.asyncio import create_async_engine

    import services.cases.models as cases_models
    import services.intake.models as intake_models
    import services.notify.models as notify_models

    def compare(conn):
        ctx = MigrationContext.configure(
            conn,
            opts={
                "include_schemas": True,
                "include_name": lambda name, kind, parents: (
                    name in ("intake", "cases", "notify") if kind == "schema" else True
                ),
            },
        )
        return compare_metadata(ctx, [intake_models.metadata, cases_models.metadata, notify_models.metadata])

    engine = create_async_engine(system.db_url)
    try:
        async with engine.connect() as conn:
            diff = await conn.run_sync(compare)
    finally:
        await engine.dispose()
    columns = [
        d for d in diff if isinstance(d, tuple) and d[0] in ("add_column", "remove_column", "add_table", "remove_table")
    ]
    assert columns == [], columns
