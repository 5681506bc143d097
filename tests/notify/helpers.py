"""Helpers for notify's tests: send events as cases would, run the delivery worker once, read a delivery
row and the messages of a case."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import text

from services.notify.context import NotifyContext
from services.notify.delivery.clients import DeliveryClients
from services.notify.delivery.jobs import deliver_due
from shared.context import context_of
from tests.support import SERVICE_TOKENS


def notify_context(app: Any) -> NotifyContext:
    """The notify app's typed context: its cipher, rules, settings and clients."""
    return context_of(app, NotifyContext)


async def run_worker(app: Any, settings: Any = None, **overrides: Any) -> int:
    """One `deliver_due` as the service's tick would run it, with its own clients."""
    settings = settings or app.state.settings
    if overrides:
        settings = settings.model_copy(update=overrides)
    clients = DeliveryClients(settings)
    try:
        return await deliver_due(app.state.db, settings, notify_context(app).cipher, clients, max_seconds=20)
    finally:
        await clients.close()


async def fetch(db: Any, delivery_id: uuid.UUID) -> Any:
    async with db.unit_of_work() as session:
        return (
            await session.execute(text("SELECT * FROM notify.deliveries WHERE id = :id"), {"id": delivery_id})
        ).one()


async def send(system: Any, *events: dict[str, Any]) -> None:
    """POST events to notify's internal events endpoint, as the cases relay does."""
    resp = await system.http.post(
        f"{system.notify_url}/internal/v1/events",
        json={"source": "cases", "events": list(events)},
        headers={"Authorization": f"Bearer {SERVICE_TOKENS['cases']}"},
    )
    assert resp.status_code == 200, resp.text


async def messages(system: Any, case_id: str) -> list[Any]:
    """Every notification of a case with its deliveries, in the order they were made."""
    async with system.services["notify"].app.state.db.unit_of_work() as s:
        return list(
            await s.execute(
                text(
                    """SELECT n.event_type, n.rule, d.channel, d.recipient, d.state, d.last_error, d.payload,
                 n.title, n.body
               FROM notify.notifications n JOIN notify.deliveries d ON d.notification_id = n.id
               WHERE n.case_id = :c ORDER BY n.created_at, n.rule, d.recipient, d.channel"""
                ),
                {"c": case_id},
            )
        )
