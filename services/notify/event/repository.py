"""All SQL of the kept events."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert
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
    if not evs:
        return
    await session.execute(
        insert(events),
        [
            {
                "event_id": ev.id,
                "type": ev.type,
                "aggregate_id": ev.aggregate_id,
                "payload": ev.payload,
                "occurred_at": ev.occurred_at,
                "received_at": received_at,
            }
            for ev in evs
        ],
    )
