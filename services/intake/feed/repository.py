"""Each worker's pull feed. `append` bumps the worker's head row (a row lock held to commit), so seqs of
one worker commit in order and `seq > cursor` never skips a change."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

FEED_CHANNEL = "intake_feed"


async def append(
    session: AsyncSession, worker_id: str, entries: list[tuple[str, dict[str, Any]]], now: datetime
) -> int:
    """Append changes for one worker; returns the new head seq."""
    return (await append_each(session, {worker_id: entries}, now))[worker_id]


async def append_to_each(session: AsyncSession, entries: dict[str, tuple[str, dict[str, Any]]], now: datetime) -> None:
    """One change for each of many workers (a directory change)."""
    await append_each(session, {w: [e] for w, e in entries.items()}, now)


async def append_each(
    session: AsyncSession, entries: dict[str, list[tuple[str, dict[str, Any]]]], now: datetime
) -> dict[str, int]:
    """Append changes for any number of workers in three statements; returns each worker's new head seq.

    A worker's head row stays locked until commit, so that worker's seqs commit in order and a pull
    reading `seq > cursor` never skips one; heads are taken in worker order (no deadlock between two
    appends to the same workers)."""
    workers = sorted(w for w, e in entries.items() if e)
    if not workers:
        return {}
    heads = {
        r.worker_id: r.seq
        for r in await session.execute(
            text(
                """INSERT INTO intake.feed_heads (worker_id, seq)
                   SELECT w, n FROM unnest(CAST(:ws AS text[]), CAST(:ns AS int[])) AS x(w, n) ORDER BY w
                   ON CONFLICT (worker_id) DO UPDATE SET seq = intake.feed_heads.seq + EXCLUDED.seq
                   RETURNING worker_id, seq"""
            ),
            {"ws": workers, "ns": [len(entries[w]) for w in workers]},
        )
    }
    rows = [
        {
            "worker_id": w,
            "seq": heads[w] - len(entries[w]) + 1 + i,
            "type": t,
            "data": orjson.dumps(d).decode(),
            "now": now,
        }
        for w in workers
        for i, (t, d) in enumerate(entries[w])
    ]
    await session.execute(  # one statement over arrays (an executemany runs each row alone)
        text(
            """INSERT INTO intake.feed (worker_id, seq, type, data, created_at)
               SELECT w, n, t, CAST(d AS jsonb), :now
               FROM unnest(CAST(:ws AS text[]), CAST(:ns AS bigint[]), CAST(:ts AS text[]), CAST(:ds AS text[]))
                 AS u(w, n, t, d)"""
        ),
        {
            "ws": [r["worker_id"] for r in rows],
            "ns": [r["seq"] for r in rows],
            "ts": [r["type"] for r in rows],
            "ds": [r["data"] for r in rows],
            "now": now,
        },
    )
    await session.execute(
        text("SELECT pg_notify(:ch, w) FROM unnest(CAST(:ws AS text[])) AS w"), {"ch": FEED_CHANNEL, "ws": workers}
    )
    return heads


async def head(session: AsyncSession, worker_id: str) -> tuple[int, int]:
    row = (
        await session.execute(text("SELECT seq, min_seq FROM intake.feed_heads WHERE worker_id = :w"), {"w": worker_id})
    ).first()
    return (row.seq, row.min_seq) if row else (0, 0)


async def since(session: AsyncSession, worker_id: str, after: int, limit: int) -> list[Any]:
    result = await session.execute(
        text(
            """SELECT seq, type, data FROM intake.feed WHERE worker_id = :w AND seq > :after
               ORDER BY seq LIMIT :n"""
        ),
        {"w": worker_id, "after": after, "n": limit},
    )
    return list(result)


async def prune(session: AsyncSession, before: datetime) -> int:
    """Forget changes older than the retention; cursors older than what is kept then get 410."""
    result = await session.execute(
        text(
            """WITH gone AS (DELETE FROM intake.feed WHERE created_at < :before RETURNING worker_id, seq),
                    top AS (SELECT worker_id, max(seq) AS s FROM gone GROUP BY worker_id)
               UPDATE intake.feed_heads h SET min_seq = GREATEST(h.min_seq, top.s) FROM top
               WHERE h.worker_id = top.worker_id RETURNING h.worker_id"""
        ),
        {"before": before},
    )
    return len(result.all())
