"""/readyz during a rolling deploy: the new release migrates first, so the old replicas see a database
ahead of their code and must stay ready; a database behind the code is not ready."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text


@asynccontextmanager
async def schema_version_set_to(system, version: str | None) -> AsyncIterator[None]:
    engine = system.cases_app.state.db.engine
    async with engine.begin() as conn:
        real = (await conn.execute(text("SELECT version_num FROM public.alembic_version"))).scalar_one()
        await conn.execute(text("DELETE FROM public.alembic_version"))
        if version is not None:
            await conn.execute(text("INSERT INTO public.alembic_version (version_num) VALUES (:v)"), {"v": version})
    try:
        yield
    finally:
        async with engine.begin() as conn:
            await conn.execute(text("DELETE FROM public.alembic_version"))
            await conn.execute(text("INSERT INTO public.alembic_version (version_num) VALUES (:v)"), {"v": real})


async def test_replicas_stay_ready_when_a_newer_release_has_migrated(system):
    # a revision this code's tree does not know: written by the next release's migration
    async with schema_version_set_to(system, "9999_next_release"):
        for url in (system.intake_url, system.cases_url, system.notify_url):
            ready = await system.http.get(f"{url}/readyz")
            assert ready.status_code == 200, ready.text
            assert ready.json() == {"status": "ready", "schema": "9999_next_release"}


async def test_not_ready_while_the_database_is_behind_the_code(system):
    tree = system.cases_app.state.migrations
    older = sorted(tree.revisions - {tree.head})[-1]
    async with schema_version_set_to(system, older):
        ready = await system.http.get(f"{system.cases_url}/readyz")
        assert ready.status_code == 503 and ready.headers["retry-after"] == "2"
        assert ready.json()["code"] == "not_ready" and older in ready.json()["detail"]
    async with schema_version_set_to(system, None):
        assert (await system.http.get(f"{system.intake_url}/readyz")).status_code == 503
    assert (await system.http.get(f"{system.cases_url}/readyz")).status_code == 200
