"""The cases service: identity, the org directory, cases."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI

from services.cases.api import routers
from services.cases.audit.service import prune_audit
from services.cases.config import CasesSettings, get_settings
from services.cases.context import CasesContext
from services.cases.db import SCHEMA, inbox
from services.cases.deadline import service as deadline_service
from services.cases.deadline.jobs import sweep
from services.cases.document.clients import AttachmentGrantClient
from services.cases.idempotency.jobs import prune_idempotency_keys
from services.cases.identity.jobs import prune_login_failures, prune_refresh_tokens
from services.cases.identity.keys import SigningKey
from services.cases.identity.schemas import TokenRequest
from services.cases.identity.service import TokenIssuer
from services.cases.org.schemas import OrgDocument
from services.cases.startup import load_calendar, retime_estimated, start_domain, stop_domain
from services.cases.stats.jobs import FOLD_INTERVAL_SECONDS, fold_deltas
from services.cases.subject.jobs import issue_due_visits
from shared.app import ServiceSpec, create_service_app
from shared.auth import KeySet
from shared.context import context_of, install_context
from shared.inbox import prune_inbox
from shared.metrics import Reading
from shared.outbox import Relay
from shared.pii import PiiCipher
from shared.scheduling import Tick


def _keys(app: FastAPI) -> KeySet:
    settings: CasesSettings = app.state.settings
    app.state.signing_key = SigningKey.load_or_create(
        settings.jwt_private_key_file, settings.jwt_algorithm, settings.jwt_previous_key_files
    )
    return app.state.signing_key.keyset(
        issuer=settings.jwt_issuer, audience=settings.jwt_audience, leeway=settings.jwt_leeway_seconds
    )


async def _startup(app: FastAPI) -> None:
    settings: CasesSettings = app.state.settings
    signing_key: SigningKey = app.state.signing_key
    relay = Relay(
        app.state.db,
        SCHEMA,
        "cases",
        {"intake": settings.intake_url, "notify": settings.notify_url},
        settings.service_token,
        concurrency=settings.relay_concurrency,
        consumer_concurrency=settings.relay_consumer_concurrency,
        batch_size=settings.relay_batch_size,
    )
    app.state.relay = relay  # shared/app.py's /metrics reads the outbox backlog through it
    ctx = CasesContext(
        db=app.state.db,
        settings=settings,
        cipher=PiiCipher(settings.pii_key, settings.pii_hash_key),
        signing_key=signing_key,
        issuer=TokenIssuer(
            app.state.db,
            signing_key,
            settings.access_token_ttl_seconds,
            settings.refresh_token_ttl_days,
            settings.login_free_failures,
            settings.refresh_reuse_grace_seconds,
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            address_free_failures=settings.login_address_free_failures,
        ),
        relay=relay,
        attachment_grants=AttachmentGrantClient(
            settings.intake_url, settings.service_token, settings.attachment_grant_timeout_seconds
        ),
    )
    install_context(app, ctx)
    await start_domain(app, ctx)  # the database may be away: then 503 until the calendar is loaded


async def _shutdown(app: FastAPI) -> None:
    await stop_domain(app)
    await context_of(app, CasesContext).relay.close()
    await context_of(app, CasesContext).attachment_grants.close()


def _ticks(app: FastAPI) -> list[Tick]:
    ctx = context_of(app, CasesContext)

    async def prune_outbox() -> None:
        await ctx.relay.prune()

    async def deadline_sweep() -> None:
        if ctx.ready:  # not while waiting for the database at start
            await sweep(ctx.db, ctx.domain.deadlines, ctx.settings.sweep_batch)

    async def prune_by_retention() -> None:
        s = ctx.settings
        await prune_inbox(ctx.db, inbox, timedelta(days=s.inbox_retention_days), s.retention_batch)
        await prune_idempotency_keys(ctx.db, timedelta(days=s.idempotency_retention_days), s.retention_batch)
        await prune_refresh_tokens(ctx.db, timedelta(days=s.refresh_token_retention_days), s.retention_batch)
        await prune_audit(ctx.db, s.audit_retention_days, s.retention_batch)

    async def household_visits() -> None:
        if ctx.ready:
            await issue_due_visits(ctx.db, ctx.domain.risk)

    async def prune_throttle() -> None:
        await prune_login_failures(ctx.db, ctx.settings.login_failure_retention_hours)

    async def stats_fold() -> None:
        await fold_deltas(ctx.db)

    async def refresh_calendar() -> None:
        if ctx.ready:
            before = ctx.domain.deadlines.calendar.signature
            ctx.domain.deadlines.calendar = await load_calendar(ctx.db)
            if ctx.domain.deadlines.calendar.signature != before or ctx.retime_owed:
                # another replica's import or override, or cases an action held during one here: those
                # clocks are re-timed now; the clocks already re-timed do not change again
                ctx.retime_owed = False
                await retime_estimated(ctx)

    return [
        Tick("deadline_sweep", deadline_sweep, ctx.settings.sweep_interval_seconds),
        Tick("outbox_relay", ctx.relay.tick, ctx.settings.relay_interval_seconds),
        Tick("stats_fold", stats_fold, FOLD_INTERVAL_SECONDS),
        Tick("refresh_calendar", refresh_calendar, 300),
        Tick("household_visits", household_visits, 60),
        Tick("prune_outbox", prune_outbox, 3600),
        Tick("retention", prune_by_retention, 3600),
        Tick("prune_login_failures", prune_throttle, 3600),
    ]


async def _readings(app: FastAPI) -> list[Reading]:
    ctx = context_of(app, CasesContext)
    async with ctx.db.unit_of_work() as session:
        return await deadline_service.operator_readings(session)


def create_app(settings: CasesSettings | None = None) -> FastAPI:
    settings = settings or get_settings()
    return create_service_app(
        ServiceSpec(
            name="cases",
            settings=settings,
            routers=routers(),
            ticks=_ticks,
            on_startup=[_startup],
            on_shutdown=[_shutdown],
            extra_schemas=[TokenRequest, OrgDocument],
            keys=_keys,
            readings=_readings,
            title="Cases — 综治中心案件、身份与组织",
            description="Identity and tokens, the org directory, cases made from grid workers' reports.",
        )
    )
