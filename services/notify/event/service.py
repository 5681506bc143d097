"""Events from cases, kept so that the delivery rules can act on them and operators can see them."""
from __future__ import annotations

from typing import Any

from sqlalchemy import insert

from services.notify.db import events
from shared.clock import clock
from shared.contracts.events import NOTIFY_EVENT_TYPES
from shared.inbox import EventIn


async def record_event(session: Any, event: EventIn, ctx: Any) -> None:
    await session.execute(
        insert(events).values(
            event_id=event.id, type=event.type, aggregate_id=event.aggregate_id, payload=event.payload,
            occurred_at=event.occurred_at, received_at=clock.now(),
        )
    )


HANDLERS = {t: record_event for t in NOTIFY_EVENT_TYPES}
