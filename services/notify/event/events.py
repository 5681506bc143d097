"""What notify does with the events of cases that its rules act on (NOTIFY_EVENT_TYPES)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.notify.context import NotifyContext
from services.notify.event import service
from shared.inbox import EventIn


async def record_event(session: AsyncSession, event: EventIn, ctx: NotifyContext) -> None:
    """Keep the event and make the notifications and deliveries it calls for (the inbox's transaction)."""
    await service.keep_and_apply(session, ctx.rules, event)


async def record_events(session: AsyncSession, events: list[EventIn], ctx: NotifyContext) -> None:
    """Many events of one type at once: kept, and the rules applied over the batch (`record_event` each)."""
    await service.keep_and_apply_many(session, ctx.rules, events)
