"""All SQL of the kept events."""

from __future__ import annotations

from datetime import datetime

import orjson
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncSession

from services.notify.event.models import events
from shared.inbox import EventIn


async def insert_event(session: AsyncSession, event: EventIn, received_at: datetime) -> None:
    await session.execute(
        insert(events).values(
            event_id=event.id,
            type=event.type,
            aggregate_id=event.aggregate_id,
            payload=event.payload,
            occurred_at=event.occurred_at,
            received_at=received_at,
        )
    )


async def insert_events(session: AsyncSession, evs: list[EventIn], received_at: datetime) -> None:
    """Many events in one statement over arrays (an executemany runs each row alone)."""
    if not evs:
        return
    await session.execute(
        text(
            """INSERT INTO notify.events (event_id, type, aggregate_id, payload, occurred_at, received_at)
               SELECT e, t, a, CAST(p AS jsonb), o, :received_at
               FROM unnest(CAST(:e AS uuid[]), CAST(:t AS text[]), CAST(:a AS text[]), CAST(:p AS text[]),
                           CAST(:o AS timestamptz[])) AS u(e, t, a, p, o)"""
        ),
        {
            "e": [ev.id for ev in evs],
            "t": [ev.type for ev in evs],
            "a": [ev.aggregate_id for ev in evs],
            "p": [orjson.dumps(ev.payload, option=orjson.OPT_NON_STR_KEYS).decode() for ev in evs],
            "o": [ev.occurred_at for ev in evs],
            "received_at": received_at,
        },
    )
