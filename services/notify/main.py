"""The notify service. It receives the events of cases through its inbox and keeps them; delivery
(webhooks, SMS, phone messages, in-app inbox) is built on them."""

from __future__ import annotations

import asyncio

from fastapi import FastAPI

from services.notify.config import NotifySettings, get_settings
from services.notify.db import SCHEMA, inbox
from services.notify.delivery.jobs import DeliveryClients, deliver_due, prune_deliveries, stop_delivering
from services.notify.delivery.router import router as deliveries_router
from services.notify.digest import send_daily_digest
from services.notify.endpoint.router import router as endpoints_router
from services.notify.event.service import HANDLERS
from services.notify.inbox.router import router as inbox_router
from services.notify.rule.engine import load_rules
from shared.app import ServiceSpec, create_service_app
from shared.inbox import events_router, outbox_admin_router
from shared.outbox import Relay
from shared.pii import PiiCipher
from shared.scheduling import Tick


async def _startup(app: FastAPI) -> None:
    settings: NotifySettings = app.state.settings
    app.state.cipher = PiiCipher(settings.pii_key, settings.pii_hash_key)
    app.state.rules = load_rules(settings.notify_rules_file or None)
    app.state.relay = Relay(app.state.db, SCHEMA, "notify", {"intake": settings.intake_url}, settings.service_token)
    app.state.delivery_clients = DeliveryClients(settings)
    app.state.delivery_runs = set()


async def _shutdown(app: FastAPI) -> None:
    # the ticker has stopped ticking (and cancelled its tick tasks; the runs themselves are shielded):
    # let the sends in flight end and settle before the session and the database go
    settings: NotifySettings = app.state.settings
    await stop_delivering(app.state.delivery_clients, app.state.delivery_runs, settings.delivery_shutdown_grace_seconds)
    await app.state.relay.close()


def _ticks(app: FastAPI) -> list[Tick]:
    settings: NotifySettings = app.state.settings

    async def deliver() -> None:
        # its own task, shielded: stopping the ticker does not cut a run short; _shutdown ends it
        run = asyncio.ensure_future(deliver_due(app.state.db, settings, app.state.cipher, app.state.delivery_clients))
        app.state.delivery_runs.add(run)
        run.add_done_callback(app.state.delivery_runs.discard)
        await asyncio.shield(run)

    async def digest() -> None:
        await send_daily_digest(app.state.db, settings, app.state.rules)

    async def prune_outbox() -> None:
        await app.state.relay.prune()
        await prune_deliveries(app.state.db)

    return [
        Tick("deliveries", deliver, settings.delivery_interval_seconds),
        Tick("outbox_relay", app.state.relay.run_once, settings.relay_interval_seconds),
        Tick("daily_digest", digest, 60),
        Tick("prune_outbox", prune_outbox, 3600),
    ]


def create_app(settings: NotifySettings | None = None) -> FastAPI:
    settings = settings or get_settings()
    return create_service_app(
        ServiceSpec(
            name="notify",
            settings=settings,
            routers=[
                events_router(inbox, HANDLERS),
                outbox_admin_router(SCHEMA),
                inbox_router,
                deliveries_router,
                endpoints_router,
            ],
            ticks=_ticks,
            on_startup=[_startup],
            on_shutdown=[_shutdown],
            title="Notify — 提醒与消息投递",
            description="Reminders, webhooks to department systems, SMS, phone messages.",
        )
    )
