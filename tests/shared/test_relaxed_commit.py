"""`shared.db.relaxed_commit` is one transaction's own: the relay's claims and delivery marks commit without
waiting for the WAL flush and plan afresh, and the next transaction on the same pooled connection (a case
being made, a report being stored) is back to the server's settings: a durable commit, cached plans."""

from __future__ import annotations

from sqlalchemy import text

from shared.db import Database, relaxed_commit

SETTINGS = text(
    "SELECT pg_backend_pid() AS pid, current_setting('synchronous_commit') AS sync, "
    "current_setting('plan_cache_mode') AS plans"
)


async def test_relaxed_commit_ends_with_its_transaction(database_url: str) -> None:
    db = Database(database_url, application_name="test-relaxed-commit")
    try:
        async with db.unit_of_work() as session:
            server = (await session.execute(SETTINGS)).one()
        assert server.sync != "off" and server.plans != "force_custom_plan"

        async with db.unit_of_work() as session:
            await relaxed_commit(session, custom_plans=True)
            inside = (await session.execute(SETTINGS)).one()
        assert inside.pid == server.pid  # the same pooled connection throughout
        assert (inside.sync, inside.plans) == ("off", "force_custom_plan")

        async with db.unit_of_work() as session:
            await relaxed_commit(session)
            plain = (await session.execute(SETTINGS)).one()
        assert (plain.pid, plain.sync, plain.plans) == (server.pid, "off", server.plans)

        # a transaction that fails after it is no different: the settings go with its rollback
        try:
            async with db.unit_of_work() as session:
                await relaxed_commit(session, custom_plans=True)
                raise RuntimeError("the handler failed")
        except RuntimeError:
            pass

        async with db.unit_of_work() as session:
            after = (await session.execute(SETTINGS)).one()
        assert (after.pid, after.sync, after.plans) == (server.pid, server.sync, server.plans)
    finally:
        await db.dispose()
