"""A pooled connection learns the codecs of the array types the set-based statements bind when it opens, in
one catalogue query, so no statement of a case, a feed or a delivery batch waits for asyncpg to ask."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
from sqlalchemy import text

from shared.db import Database

EVERY_ARRAY = text(
    "SELECT * FROM unnest(CAST(:u AS uuid[]), CAST(:t AS text[]), CAST(:ts AS timestamptz[]), CAST(:i AS int[]),"
    " CAST(:b AS bigint[]), CAST(:f AS boolean[]), CAST(:x AS float8[])) AS r(u, word, ts, i, big, f, x)"
)


async def test_a_new_connection_asks_for_the_array_codecs_once(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[tuple[int, ...]] = []
    original = vars(asyncpg.connection.Connection)["_introspect_types"]  # private: the catalogue query it sends

    async def spy(self: Any, typeoids: Any, *rest: Any) -> Any:
        asked.append(tuple(typeoids))
        return await original(self, typeoids, *rest)

    monkeypatch.setattr(asyncpg.connection.Connection, "_introspect_types", spy)
    db = Database(database_url, application_name="test-array-codecs")
    try:
        async with db.unit_of_work() as session:
            await session.execute(text("SELECT 1"))
            on_open = list(asked)
            row = (
                await session.execute(
                    EVERY_ARRAY,
                    {
                        "u": [uuid.uuid4()],
                        "t": ["甲"],
                        "ts": [datetime(2026, 12, 6, tzinfo=UTC)],
                        "i": [1],
                        "b": [2**40],
                        "f": [True],
                        "x": [0.5],
                    },
                )
            ).one()
        assert row.word == "甲" and row.big == 2**40
        assert len(on_open) == 1  # one catalogue query for all of them (text[] asyncpg knows already)
        assert asked == on_open  # the batch statement asked nothing more
    finally:
        await db.dispose()
