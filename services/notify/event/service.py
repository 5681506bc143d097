"""Events from cases, kept so that the delivery rules can act on them and operators can see them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert

from services.notify.db import events
from services.notify.directory import repository as directory
from services.notify.endpoint.service import upsert_from_directory
from services.notify.rule.service import apply_rules
from shared.clock import clock
from shared.contracts.events import DIRECTORY_CHANGED, NOTIFY_EVENT_TYPES
from shared.inbox import EventIn


async def record_event(session: Any, event: EventIn, ctx: Any) -> None:
    """Keep the event, then let the rules turn it into notifications and deliveries (same transaction)."""
    await session.execute(
        insert(events).values(
            event_id=event.id,
            type=event.type,
            aggregate_id=event.aggregate_id,
            payload=event.payload,
            occurred_at=event.occurred_at,
            received_at=clock.now(),
        )
    )
    await apply_rules(session, ctx.rules, event)


async def on_directory_changed(session: Any, event: EventIn, ctx: Any) -> None:
    """Who is who (users, departments with heads and webhook settings) from cases' org directory."""
    await directory.replace(session, event.payload, clock.now())
    for dept in event.payload.get("departments") or []:
        hook = dept.get("webhook") or {}
        if hook.get("url") and dept.get("active") is not False:
            secret = ctx.cipher.decrypt(hook.get("secret_enc")) if hook.get("secret_enc") else None
            await upsert_from_directory(
                session,
                ctx.cipher,
                dept["code"],
                hook["url"],
                secret,
                allow_private_targets=ctx.settings.webhook_allow_private_targets,
            )


HANDLERS = dict.fromkeys(NOTIFY_EVENT_TYPES, record_event) | {DIRECTORY_CHANGED: on_directory_changed}
