"""Each worker's pull feed. `append` bumps the worker's head row (a row lock held to commit), so seqs of
one worker commit in order and `seq > cursor` never skips a change."""
from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

FEED_CHANNEL = "intake_feed"


async def append(session: AsyncSession, worker_id: str, entries: list[tuple[str, dict[str, Any]]], now: datetime) -> int:
    """Append changes for one worker; returns the new head seq."""
    n = len(entries)
    head = (
        await session.execute(
            text(
                """INSERT INTO intake.feed_heads (worker_id, seq) VALUES (:w, :n)
                   ON CONFLICT (worker_id) DO UPDATE SET seq = intake.feed_heads.seq + :n
                   RETURNING seq"""
            ),
            {"w": worker_id, "n": n},
        )
    ).scalar_one()
    first = head - n + 1
    rows = [
        {"worker_id": worker_id, "seq": first + i, "type": t, "data": orjson.dumps(d).decode(), "now": now}
        for i, (t, d) in enumerate(entries)
    ]
    await session.execute(
        text("INSERT INTO intake.feed (worker_id, seq, type, data, created_at) VALUES (:worker_id, :seq, :type, CAST(:data AS jsonb), :now)"),
        rows,
    )
    await session.execute(text("SELECT pg_notify(:ch, :w)"), {"ch": FEED_CHANNEL, "w": worker_id})
    return head


async def append_to_each(session: AsyncSession, entries: dict[str, tuple[str, dict[str, Any]]], now: datetime) -> None:
    """One change for each of many workers (a directory change), in a handful of statements; heads are
    taken in worker order."""
    if not entries:
        return
    workers = sorted(entries)
    heads = await session.execute(
        text(
            """INSERT INTO intake.feed_heads (worker_id, seq)
               SELECT w, 1 FROM unnest(CAST(:ws AS text[])) AS w ORDER BY w
               ON CONFLICT (worker_id) DO UPDATE SET seq = intake.feed_heads.seq + 1
               RETURNING worker_id, seq"""
        ),
        {"ws": workers},
    )
    rows = [
        {"worker_id": r.worker_id, "seq": r.seq, "type": entries[r.worker_id][0], "data": orjson.dumps(entries[r.worker_id][1]).decode(), "now": now}
        for r in heads
    ]
    await session.execute(
        text("INSERT INTO intake.feed (worker_id, seq, type, data, created_at) VALUES (:worker_id, :seq, :type, CAST(:data AS jsonb), :now)"),
        rows,
    )
    await session.execute(text("SELECT pg_notify(:ch, w) FROM unnest(CAST(:ws AS text[])) AS w"), {"ch": FEED_CHANNEL, "ws": workers})


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
