"""Alembic async environment: one tree, one schema per service, the version table in `public`."""

from __future__ import annotations

import asyncio
import os

from alembic import context
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

import services.cases.models as cases_models
import services.intake.models as intake_models
import services.notify.models as notify_db

config = context.config
target_metadata = [intake_models.metadata, cases_models.metadata, notify_db.metadata]
if os.environ.get("ALEMBIC_ONLY"):
    target_metadata = [m for m in target_metadata if m.schema == os.environ["ALEMBIC_ONLY"]]
SCHEMAS = ("intake", "cases", "notify")


def _url() -> str:
    url = config.attributes.get("database_url") or os.environ.get("DATABASE_URL")
    if url:
        return url
    from shared.devdb import resolve_database_url

    return resolve_database_url("run")


def _include_name(name: str | None, type_: str, parent_names: dict) -> bool:
    if type_ == "schema":
        only = os.environ.get("ALEMBIC_ONLY")
        return name == only if only else name in SCHEMAS
    return True


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_schemas=True,
        include_name=_include_name,
        version_table_schema="public",
        compare_type=True,
    )


def _run_sync(connection: Connection) -> None:
    _configure(connection)
    with context.begin_transaction():
        context.run_migrations()


async def _run_async() -> None:
    engine = create_async_engine(_url())
    async with engine.connect() as conn:
        await conn.run_sync(_run_sync)
    await engine.dispose()


if context.is_offline_mode():
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True, version_table_schema="public")
    with context.begin_transaction():
        context.run_migrations()
else:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run_sync(connection)
    else:
        asyncio.run(_run_async())
