"""Poison vs outage: only a connection-level failure counts as "database unavailable" (the whole batch
comes again later); an event whose handler hits a data error fails alone and the others go through.
What such an error says reaches neither a log line nor `last_error` with its SQL parameters."""

from __future__ import annotations

import io
import logging
import uuid
from datetime import UTC, datetime

import asyncpg
import pytest
from sqlalchemy import exc as sa_exc
from sqlalchemy import text

from services.cases.db import inbox, outbox
from shared.db import Database, is_database_unavailable
from shared.inbox import EventBatch, EventIn, consume
from shared.logging import JsonFormatter
from shared.outbox import Event, Relay, publish

ID_NUMBER = "620602199001011234"


def _wrapped(orig: BaseException) -> sa_exc.DBAPIError:
    """An asyncpg error as SQLAlchemy raises it (the driver's error is the cause)."""
    try:
        try:
            raise orig
        except BaseException as inner:
            raise sa_exc.DBAPIError("SELECT 1", {"x": ID_NUMBER}, inner) from inner
    except sa_exc.DBAPIError as outer:
        return outer


@pytest.mark.parametrize(
    "error",
    [
        asyncpg.exceptions._base.DataError("invalid input for query argument $1: 'x' (an integer is required)"),
        asyncpg.exceptions.DataError("value too long"),
        asyncpg.exceptions.UniqueViolationError("duplicate key value violates unique constraint"),
        asyncpg.exceptions.InterfaceError("cannot perform operation: another operation is in progress"),
        asyncpg.exceptions.UndefinedColumnError("column x does not exist"),
        ValueError("bad payload"),
    ],
)
def test_data_and_integrity_errors_are_not_an_outage(error):
    assert not is_database_unavailable(error)
    assert not is_database_unavailable(_wrapped(error))


@pytest.mark.parametrize(
    "error",
    [
        ConnectionRefusedError(111, "Connection refused"),
        OSError("network unreachable"),
        TimeoutError(),
        asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
        asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
        asyncpg.exceptions.AdminShutdownError("terminating connection due to administrator command"),
        asyncpg.exceptions.TooManyConnectionsError("too many clients"),
        asyncpg.exceptions.InterfaceError("connection is closed"),
    ],
)
def test_connection_failures_are_an_outage(error):
    assert is_database_unavailable(error)
    assert is_database_unavailable(_wrapped(error))


async def _in_inbox(db: Database, events: list[EventIn]) -> set[uuid.UUID]:
    """Which of these events cases' inbox holds."""
    async with db.unit_of_work() as session:
        return set(
            (
                await session.execute(
                    text("SELECT event_id FROM cases.inbox WHERE event_id = ANY(:ids)"), {"ids": [e.id for e in events]}
                )
            ).scalars()
        )


def _event(kind: str) -> EventIn:
    return EventIn(
        id=uuid.uuid4(), type=kind, aggregate_id=str(uuid.uuid4()), occurred_at=datetime.now(UTC), payload={}
    )


async def _ok(session, ev, ctx) -> None:
    await session.execute(text("SELECT 1"))


async def _bad_argument(session, ev, ctx) -> None:
    # the driver cannot encode the argument: asyncpg's client-side DataError, an InterfaceError subclass
    await session.execute(text("SELECT CAST(:n AS integer) + 1"), {"n": ID_NUMBER})


async def _bad_row(session, ev, ctx) -> None:
    # an integrity error whose SQL parameters carry an ID number
    await session.execute(
        text("INSERT INTO cases.inbox (event_id, type, source, processed_at) VALUES (:id, :t, 'x', now())"),
        {"id": ev.id, "t": ID_NUMBER},
    )


async def test_a_data_error_on_one_event_fails_that_event_and_the_others_are_processed(database_url):
    db = Database(database_url, 2)
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter("test"))
    logging.getLogger("shared.inbox").addHandler(handler)
    try:
        events = [_event("t.ok"), _event("t.bad_argument"), _event("t.ok"), _event("t.bad_row"), _event("t.ok")]
        results = await consume(
            db,
            inbox,
            {"t.ok": _ok, "t.bad_argument": _bad_argument, "t.bad_row": _bad_row},
            EventBatch(source="test", events=events),
            None,
        )
        assert [r.status for r in results] == ["processed", "failed", "processed", "failed", "processed"]
        stored = await _in_inbox(db, events)
        assert stored == {events[0].id, events[2].id, events[4].id}
        errors = [r.error or "" for r in results if r.status == "failed"]
        assert "query argument" in errors[0] and "IntegrityError" in errors[1]
        for error in errors:
            assert ID_NUMBER not in error
        logged = out.getvalue()
        assert "failed" in logged and ID_NUMBER not in logged
    finally:
        logging.getLogger("shared.inbox").removeHandler(handler)
        await db.dispose()


async def test_last_error_of_an_outbox_row_never_holds_sql_parameters(database_url):
    """Whatever a consumer answers (an older one may still send the SQL with its parameters) is stored
    scrubbed."""
    db = Database(database_url, 2)
    relay = Relay(db, "cases", "cases", {"probe-poison": "http://127.0.0.1:9"}, "t", max_failures=1)
    try:
        async with db.unit_of_work() as session:
            await publish(
                session,
                outbox,
                [Event("t.probe", str(uuid.uuid4()), {}, ("probe-poison",))],
            )
        rows = await relay._claim("probe-poison")
        assert len(rows) == 1
        said = (
            "IntegrityError: (sqlalchemy.dialects.postgresql.asyncpg.IntegrityError) duplicate key\n"
            f"[SQL: INSERT INTO x (a, b) VALUES ($1, $2)]\n[parameters: ('{uuid.uuid4()}', '{ID_NUMBER}')]"
        )
        await relay._settle(rows, {str(rows[0].event_id): {"status": "failed", "error": said}})
        async with db.unit_of_work() as session:
            last_error, parked = (
                await session.execute(
                    text("SELECT last_error, parked_at FROM cases.outbox WHERE id = :id"), {"id": rows[0].id}
                )
            ).one()
        assert parked is not None and "IntegrityError" in last_error
        assert ID_NUMBER not in last_error and "parameters: hidden" in last_error
    finally:
        async with db.unit_of_work() as session:
            await session.execute(text("DELETE FROM cases.outbox WHERE destination = 'probe-poison'"))
        await relay.close()
        await db.dispose()


async def test_an_aggregates_run_in_one_post_is_applied_in_order_and_stops_at_its_failure(database_url):
    """The relay sends a case's events together; the consumer applies them layer by layer, the batched type's
    events of each layer in one call, and what follows a failed event of its aggregate is deferred."""
    db = Database(database_url, 2)
    applied: list[tuple[str, str]] = []
    calls: list[int] = []

    async def one(session, ev, ctx) -> None:
        if ev.payload.get("poison"):
            raise ValueError("poison")
        applied.append((ev.aggregate_id, ev.payload["n"]))

    async def many(session, evs, ctx) -> None:
        calls.append(len(evs))
        if any(ev.payload.get("poison") for ev in evs):
            raise ValueError("poison in the batch")
        applied.extend((ev.aggregate_id, ev.payload["n"]) for ev in evs)

    def ev(aggregate: str, n: str, poison: bool = False) -> EventIn:
        return EventIn(
            id=uuid.uuid4(),
            type="t.step",
            aggregate_id=aggregate,
            occurred_at=datetime.now(UTC),
            payload={"n": n, "poison": poison},
        )

    a, b, c = (f"agg-{uuid.uuid4()}" for _ in range(3))
    events = [ev(a, "a1"), ev(b, "b1"), ev(a, "a2"), ev(c, "c1"), ev(b, "b2", poison=True), ev(a, "a3"), ev(b, "b3")]
    try:
        results = await consume(
            db, inbox, {"t.step": one}, EventBatch(source="test", events=events), None, {"t.step": many}
        )
        assert [r.status for r in results] == [
            "processed",
            "processed",
            "processed",
            "processed",
            "failed",
            "processed",
            "deferred",
        ]
        # layer 1 (a1, b1, c1) in one call; layer 2 (a2, b2) failed together and went one by one; layer 3: a3
        assert calls[0] == 3 and 2 in calls
        assert [n for g, n in applied if g == a] == ["a1", "a2", "a3"]
        assert [n for g, n in applied if g == b] == ["b1"]
        stored = await _in_inbox(db, events)
        assert stored == {e.id for e, r in zip(events, results, strict=True) if r.status == "processed"}
        again = await consume(
            db, inbox, {"t.step": one}, EventBatch(source="test", events=events[:4]), None, {"t.step": many}
        )
        assert [r.status for r in again] == ["duplicate"] * 4
    finally:
        await db.dispose()
