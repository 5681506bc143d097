"""Two consumers' transactions that lock the same rows in opposite orders deadlock; PostgreSQL aborts one side.
That side's events are not at fault: the savepoint is applied again once the other transaction has gone on, and
every event is processed once (nothing failed, nothing doubled). A race lost every time refuses the whole POST as
503 (the relay sends it again later, never parks it) and stores nothing of it."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
from sqlalchemy import text

from services.cases.db import inbox
from shared.db import Database, is_lock_conflict
from shared.errors import ServiceUnavailable
from shared.inbox import CONFLICT_ATTEMPTS, EventBatch, EventIn, consume

ROWS = "public.test_lock_conflict_rows"


def _event(kind: str, **payload: Any) -> EventIn:
    return EventIn(
        id=uuid.uuid4(), type=kind, aggregate_id=str(uuid.uuid4()), occurred_at=datetime.now(UTC), payload=payload
    )


class Crossing:
    """Handlers that lock a row, wait until the other consumer holds its first row too, then lock the other
    row: the two transactions wait for each other. Counts what ran, and how often."""

    def __init__(self) -> None:
        self.holding: dict[int, asyncio.Event] = {1: asyncio.Event(), 2: asyncio.Event()}
        self.one_by_one = 0
        self.together = 0

    async def _cross(self, session: Any, ev: EventIn) -> None:
        first, second = ev.payload["first"], ev.payload["second"]
        await session.execute(text(f"UPDATE {ROWS} SET n = n + 1 WHERE id = :i"), {"i": first})
        self.holding[first].set()
        await asyncio.wait_for(self.holding[second].wait(), 10)
        await session.execute(text(f"UPDATE {ROWS} SET n = n + 1 WHERE id = :i"), {"i": second})

    async def one(self, session: Any, ev: EventIn, ctx: Any) -> None:
        self.one_by_one += 1
        if "first" in ev.payload:
            await self._cross(session, ev)

    async def many(self, session: Any, events: list[EventIn], ctx: Any) -> None:
        self.together += 1
        for ev in events:
            if "first" in ev.payload:
                await self._cross(session, ev)


@pytest.fixture
async def rows(database_url: str) -> AsyncIterator[Database]:
    db = Database(database_url, 2)
    async with db.unit_of_work() as session:
        await session.execute(text(f"CREATE TABLE IF NOT EXISTS {ROWS} (id int PRIMARY KEY, n int NOT NULL)"))
        await session.execute(text(f"DELETE FROM {ROWS}"))
        await session.execute(text(f"INSERT INTO {ROWS} VALUES (1, 0), (2, 0)"))
    yield db
    async with db.unit_of_work() as session:
        await session.execute(text(f"DROP TABLE {ROWS}"))
    await db.dispose()


async def _counts(db: Database) -> dict[int, int]:
    async with db.unit_of_work() as session:
        return dict((await session.execute(text(f"SELECT id, n FROM {ROWS}"))).all())


async def _stored(db: Database, events: list[EventIn]) -> int:
    async with db.unit_of_work() as session:
        return (
            await session.execute(
                text("SELECT count(*) FROM cases.inbox WHERE event_id = ANY(:ids)"), {"ids": [e.id for e in events]}
            )
        ).scalar_one()


async def test_the_side_that_lost_a_deadlock_is_applied_again_alone(database_url: str, rows: Database) -> None:
    other = Database(database_url, 2)
    crossing = Crossing()
    a, b = _event("t.cross", first=1, second=2), _event("t.cross", first=2, second=1)
    try:
        results = await asyncio.gather(
            consume(rows, inbox, {"t.cross": crossing.one}, EventBatch(source="test", events=[a]), None),
            consume(other, inbox, {"t.cross": crossing.one}, EventBatch(source="test", events=[b]), None),
        )
        assert [r.status for batch in results for r in batch] == ["processed", "processed"]
        assert crossing.one_by_one == 3  # both, and the one PostgreSQL aborted once more
        assert await _counts(rows) == {1: 2, 2: 2}  # each event's updates once
        assert await _stored(rows, [a, b]) == 2
    finally:
        await other.dispose()


async def test_a_batch_that_lost_a_deadlock_is_applied_again_as_a_batch(database_url: str, rows: Database) -> None:
    other = Database(database_url, 2)
    crossing = Crossing()
    mine = [_event("t.cross", first=1, second=2), _event("t.cross")]
    theirs = [_event("t.cross", first=2, second=1), _event("t.cross")]
    handlers, batched = {"t.cross": crossing.one}, {"t.cross": crossing.many}
    try:
        results = await asyncio.gather(
            consume(rows, inbox, handlers, EventBatch(source="test", events=mine), None, batched),
            consume(other, inbox, handlers, EventBatch(source="test", events=theirs), None, batched),
        )
        assert {r.status for batch in results for r in batch} == {"processed"}
        assert crossing.together == 3 and crossing.one_by_one == 0  # not taken apart for a lost race
        assert await _counts(rows) == {1: 2, 2: 2}
        assert await _stored(rows, mine + theirs) == 4
    finally:
        await other.dispose()


async def test_a_race_lost_every_time_refuses_the_post_and_stores_nothing(rows: Database) -> None:
    tries = 0

    async def always_loses(session: Any, ev: EventIn, ctx: Any) -> None:
        nonlocal tries
        tries += 1
        await session.execute(text(f"UPDATE {ROWS} SET n = n + 1 WHERE id = 1"))
        raise asyncpg.exceptions.DeadlockDetectedError("deadlock detected")

    async def fine(session: Any, ev: EventIn, ctx: Any) -> None:
        await session.execute(text(f"UPDATE {ROWS} SET n = n + 1 WHERE id = 2"))

    events = [_event("t.fine"), _event("t.loses")]
    with pytest.raises(ServiceUnavailable) as refused:
        await consume(
            rows, inbox, {"t.fine": fine, "t.loses": always_loses}, EventBatch(source="test", events=events), None
        )
    assert is_lock_conflict(refused.value)
    assert refused.value.status == 503 and refused.value.headers == {"Retry-After": "1"}
    assert tries == CONFLICT_ATTEMPTS
    assert await _counts(rows) == {1: 0, 2: 0}  # the event that went through went back with the POST
    assert await _stored(rows, events) == 0
