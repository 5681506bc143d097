"""The notify service. It receives the events of cases through its inbox and keeps them; delivery
(webhooks, SMS, phone messages, in-app messages) is built on them."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from fastapi import FastAPI

from services.notify.api import routers
from services.notify.config import NotifySettings, get_settings
from services.notify.context import NotifyContext
from services.notify.db import SCHEMA, inbox
from services.notify.delivery import service as delivery_service
from services.notify.delivery.clients import DeliveryClients
from services.notify.delivery.jobs import deliver_due, prune_deliveries, stop_delivering
from services.notify.digest.jobs import send_daily_digest
from services.notify.notification.jobs import prune_notifications
from services.notify.rule.engine import load_rules
from shared.app import ServiceSpec, create_service_app
from shared.context import context_of, install_context
from shared.inbox import prune_inbox
from shared.metrics import Reading
from shared.outbox import Relay
from shared.pii import PiiCipher
from shared.scheduling import Tick


async def _startup(app: FastAPI) -> None:
    settings: NotifySettings = app.state.settings
    ctx = NotifyContext(
        db=app.state.db,
        settings=settings,
        cipher=PiiCipher(settings.pii_key, settings.pii_hash_key),
        rules=load_rules(settings.notify_rules_file or None),
        relay=Relay(
            app.state.db,
            SCHEMA,
            "notify",
            {"intake": settings.intake_url},
            settings.service_token,
            concurrency=settings.relay_concurrency,
            consumer_concurrency=settings.relay_consumer_concurrency,
            batch_size=settings.relay_batch_size,
        ),
        delivery_clients=DeliveryClients(settings),
    )
    install_context(app, ctx)
    app.state.relay = ctx.relay  # every service's relay is found here by the test world's drain()


async def _shutdown(app: FastAPI) -> None:
    # the ticker has stopped ticking (and cancelled its tick tasks; the runs themselves are shielded):
    # let the sends in flight end and settle before the session and the database go
    ctx = context_of(app, NotifyContext)
    await stop_delivering(ctx.delivery_clients, ctx.delivery_runs, ctx.settings.delivery_shutdown_grace_seconds)
    await ctx.relay.close()


def _ticks(app: FastAPI) -> list[Tick]:
    ctx = context_of(app, NotifyContext)
    settings = ctx.settings

    async def deliver() -> None:
        # its own task, shielded: stopping the ticker does not cut a run short; _shutdown ends it
        run = asyncio.ensure_future(deliver_due(ctx.db, settings, ctx.cipher, ctx.delivery_clients))
        ctx.delivery_runs.add(run)
        run.add_done_callback(ctx.delivery_runs.discard)
        await asyncio.shield(run)

    async def digest() -> None:
        await send_daily_digest(ctx)

    async def prune_outbox() -> None:
        await ctx.relay.prune()
        await prune_deliveries(ctx.db)

    async def prune_by_retention() -> None:
        await prune_inbox(ctx.db, inbox, timedelta(days=settings.inbox_retention_days), settings.retention_batch)
        await prune_notifications(
            ctx.db, timedelta(days=settings.notification_retention_days), settings.retention_batch
        )

    return [
        Tick("deliveries", deliver, settings.delivery_interval_seconds),
        Tick("outbox_relay", ctx.relay.tick, settings.relay_interval_seconds),
        Tick("daily_digest", digest, 60),
        Tick("prune_outbox", prune_outbox, 3600),
        Tick("retention", prune_by_retention, 3600),
    ]


async def _readings(app: FastAPI) -> list[Reading]:
    ctx = context_of(app, NotifyContext)
    parked = sum(parked for _, _, parked, _ in await ctx.relay.backlog())
    async with ctx.db.unit_of_work() as session:
        return await delivery_service.operator_readings(session, parked)


def create_app(settings: NotifySettings | None = None) -> FastAPI:
    settings = settings or get_settings()
    return create_service_app(
        ServiceSpec(
            name="notify",
            settings=settings,
            routers=routers(),
            ticks=_ticks,
            on_startup=[_startup],
            on_shutdown=[_shutdown],
            readings=_readings,
            title="Notify — 提醒与消息投递",
            description="Reminders, webhooks to department systems, SMS, phone messages.",
        )
    )
