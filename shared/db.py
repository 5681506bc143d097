"""Async engine and the unit of work. The request owns the transaction: a route gets a session
inside `BEGIN`, code below only flushes, and the dependency commits once the route returns.

This is one of shared's database machinery modules (with outbox.py, outbox_repository.py and
inbox.py): outside them, repositories, models and migrations, nothing imports SQLAlchemy except
`AsyncSession` for typing."""

from __future__ import annotations

import contextlib
import logging
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Annotated, Any
from urllib.parse import parse_qs, urlsplit

from fastapi import Depends, Request
from sqlalchemy import MetaData, event, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

log = logging.getLogger("shared.db")

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# The array types the set-based statements bind (CAST(:x AS uuid[]) …). asyncpg knows their codecs only after
# asking the server, once per connection and type: the first statement with an array of a type not seen yet on
# that connection waits for a catalogue query (planned each time: seen at ~8 ms). One statement when a
# connection opens asks for all of them in one such query.
ARRAY_TYPES = ("uuid", "text", "timestamptz", "int4", "int8", "bool", "float8")
_PRIME_ARRAY_CODECS = "SELECT " + ", ".join(f"CAST(NULL AS {t}[])" for t in ARRAY_TYPES)


def _prime_array_codecs(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.run_async(lambda conn: conn.fetch(_PRIME_ARRAY_CODECS))


def service_metadata(schema: str) -> MetaData:
    return MetaData(schema=schema, naming_convention=NAMING_CONVENTION)


def behind_transaction_pooler(url: str) -> bool:
    """`?prepared_statement_cache_size=0` in DATABASE_URL says: PgBouncer in transaction mode (deploy/README.md)."""
    return parse_qs(urlsplit(url).query).get("prepared_statement_cache_size") == ["0"]


# Behind a transaction pooler consecutive transactions of one client run on different server sessions, and
# one server session serves many clients: statements are prepared afresh each time (no cache) under names
# unique across clients (asyncpg would number them __asyncpg_stmt_1__… per client, and they would collide).
POOLER_CONNECT_ARGS: dict[str, Any] = {
    "statement_cache_size": 0,
    "prepared_statement_name_func": lambda: f"__asyncpg_{uuid.uuid4().hex}__",
}


class Database:
    """One engine and session factory per service process (built in the app lifespan, never at import)."""

    def __init__(self, url: str, pool_size: int = 10, application_name: str = "fengqiao") -> None:
        self.url = url
        connect_args: dict[str, Any] = {"server_settings": {"application_name": application_name}, "timeout": 5}
        if behind_transaction_pooler(url):
            connect_args |= POOLER_CONNECT_ARGS
        self.engine: AsyncEngine = create_async_engine(
            url,
            # as many connections as before (DB_POOL_SIZE kept plus as many again at a peak), all of them kept
            # open once made: an overflow connection is closed when it is returned, so under a steady load above
            # DB_POOL_SIZE every transaction or two paid a new connection (authentication, asyncpg's type
            # introspection for the JSON codecs, every statement prepared again)
            pool_size=2 * pool_size,
            max_overflow=0,
            pool_pre_ping=True,
            pool_recycle=1800,
            hide_parameters=True,  # SQL parameters (ID numbers, phones) never reach an error message or a log
            connect_args=connect_args,
        )
        event.listen(self.engine.sync_engine, "connect", _prime_array_codecs)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False, autoflush=False)

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[AsyncSession]:
        """A transaction for a job or an event handler: commits on success, rolls back on error."""
        async with self.sessions() as session, session.begin():
            yield session

    async def schema_version(self) -> str | None:
        """The alembic revision the database is at (an error when it is unreachable or not migrated)."""
        async with self.engine.connect() as conn:
            return (await conn.execute(text("SELECT version_num FROM public.alembic_version"))).scalar()

    async def warm(self, n: int) -> int:
        """Open `n` of the pool's connections now (at startup), so the first burst of work does not pay for
        them (each new connection: authentication and asyncpg's type introspection for the JSON and array codecs); the
        number opened. A database that is not there yet is no error: the pool opens them later on demand."""
        opened = 0
        async with contextlib.AsyncExitStack() as held:
            try:
                for _ in range(n):
                    conn = await held.enter_async_context(self.engine.connect())
                    await conn.exec_driver_sql("SELECT 1")
                    opened += 1
            except Exception as exc:
                if not is_database_unavailable(exc):
                    raise
                log.warning("database not reachable at startup (%s): connections open on demand", error_summary(exc))
        return opened

    async def dispose(self) -> None:
        await self.engine.dispose()


async def relaxed_commit(session: AsyncSession, custom_plans: bool = False) -> None:
    """This transaction's commit does not wait for the WAL flush. Only for bookkeeping that is safe to lose in a
    PostgreSQL crash because the work is then simply done again under an at-least-once contract (a lease given
    out again, an event or a delivery sent again and recognised by its id); never for what a client was told
    is stored. `custom_plans`: the transaction's statements are planned for their parameters each time, not by
    a generic plan the connection cached while a queue table was small (a sequential scan kept for the life of
    the connection once the table has grown, until an ANALYZE of it, which no autovacuum may ever run)."""
    plans = ", set_config('plan_cache_mode', 'force_custom_plan', true)" if custom_plans else ""
    await session.execute(text(f"SELECT set_config('synchronous_commit', 'off', true){plans}"))


def is_database_unavailable(exc: BaseException) -> bool:
    """Connection-level failures of PostgreSQL (restart, failover, network, pool exhausted) → 503, not 500.

    Only those: a client-side data error (asyncpg's DataError, an InterfaceError subclass raised while
    encoding one bad argument), an integrity or syntax error is the request's or the event's own fault —
    retrying it never helps, so it must not pass for an outage."""
    import asyncpg

    for cur in _chain(exc):
        if isinstance(cur, _CONNECTION_ERRORS):  # OSError covers ConnectionError and TimeoutError
            return True
        if type(cur) is asyncpg.exceptions.InterfaceError and _CLOSED.search(str(cur)):
            return True  # "connection is closed", "pool is closing": not its subclasses (DataError …)
        if isinstance(cur, sa_exc.DBAPIError) and cur.connection_invalidated:
            return True
        if isinstance(cur, sa_exc.TimeoutError):  # pool exhausted
            return True
    return False


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The error and each one it was raised from or during, once each."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        yield cur
        cur = cur.__cause__ or cur.__context__


# SQLSTATEs of a transaction that lost a race with another one: a deadlock (PostgreSQL aborted this side of the
# cycle), a serialization failure, a lock not available. Nothing is wrong with the work: done again once the
# other transaction has finished, it goes through.
LOCK_CONFLICTS = frozenset({"40P01", "40001", "55P03"})


def is_lock_conflict(exc: BaseException) -> bool:
    """The error, or one it was raised from, is a lost race with a concurrent transaction (`LOCK_CONFLICTS`)."""
    return any(getattr(cur, "sqlstate", None) in LOCK_CONFLICTS for cur in _chain(exc))


def _connection_errors() -> tuple[type[BaseException], ...]:
    import asyncpg

    return (
        OSError,
        asyncpg.exceptions.PostgresConnectionError,  # SQLSTATE class 08
        asyncpg.exceptions.CannotConnectNowError,
        asyncpg.exceptions.AdminShutdownError,
        asyncpg.exceptions.CrashShutdownError,
        asyncpg.exceptions.TooManyConnectionsError,
    )


_CONNECTION_ERRORS = _connection_errors()
_CLOSED = re.compile(r"\bclos(?:ed|ing)\b")


def error_summary(exc: BaseException, limit: int = 500) -> str:
    """An exception as one line for `last_error` or an event's result: its type and message without
    SQLAlchemy's `[SQL: …]`/`[parameters: …]` parts or a bad argument's value, ID numbers and phones
    masked (shared/logging.py scrub)."""
    from shared.logging import scrub

    return scrub(f"{type(exc).__name__}: {exc}")[:limit]


def get_database(request: Request) -> Database:
    return request.app.state.db


async def _request_session(request: Request) -> AsyncIterator[AsyncSession]:
    db: Database = request.app.state.db
    async with db.sessions() as session, session.begin():
        yield session


# scope="function": the commit happens before the response is sent, so a client never sees
# success for a transaction that then fails to commit.
DbSession = Annotated[AsyncSession, Depends(_request_session, scope="function")]


async def prune_in_batches(
    db: Database, delete: Callable[[AsyncSession, int], Awaitable[int]], batch: int, max_batches: int = 1000
) -> int:
    """A retention tick: `delete(session, batch)` in short transactions (a long one stalls the SKIP
    LOCKED queues and bloats the table) until a batch comes back short. Returns rows deleted."""
    deleted = 0
    for _ in range(max_batches):
        async with db.unit_of_work() as session:
            n = await delete(session, batch)
        deleted += n
        if n < batch:
            break
    return deleted
