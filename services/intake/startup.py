"""What intake does when it starts and stops: it builds its context (keys, relay, feed listener,
attachment store, the client asking cases about access), and the ticks that run on it."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI

from services.intake.attachment.download.clients import CaseAccessClient
from services.intake.attachment.jobs import purge_expired_uploads
from services.intake.attachment.service import UploadPolicy
from services.intake.attachment.storage import attachment_store
from services.intake.audit.service import prune_audit
from services.intake.config import IntakeSettings
from services.intake.context import IntakeContext
from services.intake.db import SCHEMA, inbox
from services.intake.feed.jobs import prune_feed
from services.intake.feed.notifier import FeedNotifier
from shared.context import context_of, install_context
from shared.db import Database
from shared.inbox import prune_inbox
from shared.outbox import Relay
from shared.pii import PiiCipher
from shared.scheduling import Tick


def build_context(db: Database, settings: IntakeSettings) -> IntakeContext:
    return IntakeContext(
        db=db,
        settings=settings,
        cipher=PiiCipher(settings.pii_key, settings.pii_hash_key),
        relay=Relay(
            db,
            SCHEMA,
            "intake",
            {"cases": settings.cases_url},
            settings.service_token,
            concurrency=settings.relay_concurrency,
            consumer_concurrency=settings.relay_consumer_concurrency,
            batch_size=settings.relay_batch_size,
        ),
        notifier=FeedNotifier(settings.listen_database_url or db.url),
        store=attachment_store(settings),
        upload_policy=UploadPolicy.from_settings(settings),
        case_access=CaseAccessClient(settings.cases_url, settings.service_token, settings.case_access_timeout_seconds),
    )


async def on_startup(app: FastAPI) -> None:
    ctx = build_context(app.state.db, app.state.settings)
    ctx.notifier.start()
    install_context(app, ctx)


async def on_shutdown(app: FastAPI) -> None:
    ctx = context_of(app, IntakeContext)
    await ctx.notifier.stop()
    await ctx.relay.close()
    await ctx.case_access.close()


def ticks(app: FastAPI) -> list[Tick]:
    ctx = context_of(app, IntakeContext)
    retention = timedelta(days=ctx.settings.feed_retention_days)

    async def prune_outbox() -> None:
        await ctx.relay.prune()

    async def prune_old_changes() -> None:
        await prune_feed(ctx.db, retention)

    async def purge_uploads() -> None:
        await purge_expired_uploads(ctx.db, ctx.store)

    async def prune_by_retention() -> None:
        s = ctx.settings
        await prune_inbox(ctx.db, inbox, timedelta(days=s.inbox_retention_days), s.retention_batch)
        await prune_audit(ctx.db, s.audit_retention_days, s.retention_batch)

    return [
        Tick("outbox_relay", ctx.relay.tick, ctx.settings.relay_interval_seconds),
        Tick("purge_uploads", purge_uploads, 3600),
        Tick("prune_feed", prune_old_changes, 3600),
        Tick("prune_outbox", prune_outbox, 3600),
        Tick("retention", prune_by_retention, 3600),
    ]
