"""The cases service: identity, the org directory, cases."""

from __future__ import annotations

from fastapi import FastAPI

from services.cases.api import routers
from services.cases.config import CasesSettings, get_settings
from services.cases.db import SCHEMA
from services.cases.deadline.jobs import sweep
from services.cases.identity.keys import SigningKey
from services.cases.identity.schemas import TokenRequest
from services.cases.identity.service import TokenIssuer
from services.cases.org.schemas import OrgDocument
from services.cases.startup import load_calendar, start_domain, stop_domain
from shared.app import ServiceSpec, create_service_app
from shared.auth import KeySet
from shared.outbox import Relay
from shared.pii import PiiCipher
from shared.scheduling import Tick


def _keys(app: FastAPI) -> KeySet:
    settings: CasesSettings = app.state.settings
    app.state.signing_key = SigningKey.load_or_create(settings.jwt_private_key_file)
    return app.state.signing_key.keyset()


async def _startup(app: FastAPI) -> None:
    settings: CasesSettings = app.state.settings
    app.state.cipher = PiiCipher(settings.pii_key, settings.pii_hash_key)
    app.state.issuer = TokenIssuer(
        app.state.db,
        app.state.signing_key,
        settings.access_token_ttl_seconds,
        settings.refresh_token_ttl_days,
        settings.login_free_failures,
        settings.refresh_reuse_grace_seconds,
    )
    app.state.relay = Relay(
        app.state.db,
        SCHEMA,
        "cases",
        {"intake": settings.intake_url, "notify": settings.notify_url},
        settings.service_token,
    )
    await start_domain(app)  # the database may be away: then 503 until the calendar is loaded


async def _shutdown(app: FastAPI) -> None:
    await stop_domain(app)
    await app.state.relay.close()


def _ticks(app: FastAPI) -> list[Tick]:
    async def prune_outbox() -> None:
        await app.state.relay.prune()

    settings: CasesSettings = app.state.settings

    async def deadline_sweep() -> None:
        if app.state.domain is not None:  # None while waiting for the database at start
            await sweep(app.state.db, app.state.domain.deadlines, settings.sweep_batch)

    async def refresh_calendar() -> None:
        if app.state.domain is not None:
            app.state.domain.deadlines.calendar = await load_calendar(app.state.db)

    return [
        Tick("deadline_sweep", deadline_sweep, settings.sweep_interval_seconds),
        Tick("outbox_relay", app.state.relay.run_once, settings.relay_interval_seconds),
        Tick("refresh_calendar", refresh_calendar, 300),
        Tick("prune_outbox", prune_outbox, 3600),
    ]


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
            title="Cases — 综治中心案件、身份与组织",
            description="Identity and tokens, the org directory, cases made from grid workers' reports.",
        )
    )
