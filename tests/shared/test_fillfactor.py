"""The queue tables leave room on their pages for the updates their rows get (migration 0031), as their
models say: a lease, a delivery's attempt, a report's case then stay on the row's page (heap-only)."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.cases.db import metadata as cases_metadata
from services.intake.db import metadata as intake_metadata
from services.notify.db import metadata as notify_metadata


def _declared() -> dict[str, int]:
    out: dict[str, int] = {}
    for metadata in (intake_metadata, cases_metadata, notify_metadata):
        for table in metadata.tables.values():
            fill = table.dialect_options["postgresql"]["with"] or {}
            if "fillfactor" in fill:
                out[f"{table.schema}.{table.name}"] = int(fill["fillfactor"])
    return out


async def test_migrated_tables_have_the_fillfactor_their_models_declare(db_engine: AsyncEngine) -> None:
    declared = _declared()
    assert {"intake.outbox", "cases.outbox", "notify.outbox", "notify.deliveries"} <= set(declared)
    async with db_engine.connect() as conn:
        rows = await conn.execute(
            text(
                """SELECT n.nspname || '.' || c.relname AS name, opt
                   FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace, unnest(c.reloptions) AS opt
                   WHERE c.relkind = 'r' AND n.nspname IN ('intake', 'cases', 'notify') AND opt LIKE 'fillfactor=%'"""
            )
        )
        migrated = {r.name: int(r.opt.split("=", 1)[1]) for r in rows}
    assert migrated == declared
