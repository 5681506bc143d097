"""Events from cases, kept so that the delivery rules can act on them and operators can see them."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.notify.event import repository as repo
from services.notify.rule.engine import Rule
from services.notify.rule.service import apply_rules, apply_rules_many
from shared.clock import clock
from shared.inbox import EventIn


async def keep_and_apply(session: AsyncSession, rules: list[Rule], event: EventIn) -> None:
    """Keep the event, then let the rules turn it into notifications and deliveries (same transaction)."""
    await repo.insert_event(session, event, clock.now())
    await apply_rules(session, rules, event)


async def keep_and_apply_many(session: AsyncSession, rules: list[Rule], events: list[EventIn]) -> None:
    """`keep_and_apply` for many events at once: kept in one statement, the rules applied over the batch."""
    await repo.insert_events(session, events, clock.now())
    await apply_rules_many(session, rules, events)
