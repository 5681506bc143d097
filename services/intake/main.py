"""The intake service: grid-worker mobile sync (push, pull, tus uploads)."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI

from services.intake.api import routers
from services.intake.attachment.case_access import CaseAccess
from services.intake.config import IntakeSettings, get_settings
from services.intake.db import SCHEMA
from services.intake.feed.notifier import FeedNotifier
from services.intake.report.schemas import ReportItem
from services.intake.sync.schemas import PushRequest
from shared.app import ServiceSpec, create_service_app
from shared.clock import clock
from shared.outbox import Relay
from shared.pii import PiiCipher
from shared.scheduling import Tick


async def _startup(app: FastAPI) -> None:
    settings: IntakeSettings = app.state.settings
    app.state.cipher = PiiCipher(settings.pii_key, settings.pii_hash_key)
    app.state.relay = Relay(app.state.db, SCHEMA, "intake", {"cases": settings.cases_url}, settings.service_token)
    app.state.notifier = FeedNotifier(settings.listen_database_url or app.state.db.url)
    app.state.notifier.start()
    app.state.case_access = CaseAccess(settings.cases_url, settings.service_token, settings.case_access_timeout_seconds)


async def _shutdown(app: FastAPI) -> None:
    await app.state.notifier.stop()
    await app.state.relay.close()
    await app.state.case_access.close()


def _ticks(app: FastAPI) -> list[Tick]:
    from services.intake.attachment.service import purge_expired_uploads
    from services.intake.attachment.storage import attachment_store
    from services.intake.feed import repository as feed

    settings: IntakeSettings = app.state.settings

    async def prune_feed() -> None:
        async with app.state.db.unit_of_work() as session:
            await feed.prune(session, clock.now() - timedelta(days=settings.feed_retention_days))

    async def prune_outbox() -> None:
        await app.state.relay.prune()

    return [
        Tick("outbox_relay", app.state.relay.run_once, settings.relay_interval_seconds),
        Tick("purge_uploads", lambda: purge_expired_uploads(app.state.db, attachment_store(settings)), 3600),
        Tick("prune_feed", prune_feed, 3600),
        Tick("prune_outbox", prune_outbox, 3600),
    ]


def create_app(settings: IntakeSettings | None = None) -> FastAPI:
    settings = settings or get_settings()
    return create_service_app(
        ServiceSpec(
            name="intake",
            settings=settings,
            routers=routers(),
            ticks=_ticks,
            on_startup=[_startup],
            on_shutdown=[_shutdown],
            extra_schemas=[ReportItem, PushRequest],
            title="Intake — 网格员移动端同步",
            description="Push reports made offline, pull what became of them, upload photos (tus 1.0.0).",
        )
    )
