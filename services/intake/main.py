"""The intake service: grid-worker mobile sync (push, pull, tus uploads)."""

from __future__ import annotations

from fastapi import FastAPI

from services.intake import startup
from services.intake.api import routers
from services.intake.attachment.method_override import TusMethodOverride
from services.intake.config import IntakeSettings, get_settings
from services.intake.report.schemas import ReportItem
from services.intake.sync.schemas import PushRequest
from shared.app import ServiceSpec, create_service_app


def create_app(settings: IntakeSettings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = create_service_app(
        ServiceSpec(
            name="intake",
            settings=settings,
            routers=routers(),
            ticks=startup.ticks,
            on_startup=[startup.on_startup],
            on_shutdown=[startup.on_shutdown],
            extra_schemas=[ReportItem, PushRequest],
            title="Intake — 网格员移动端同步",
            description="Push reports made offline, pull what became of them, upload photos (tus 1.0.0).",
        )
    )
    app.add_middleware(TusMethodOverride)  # outermost: everything inside sees the overridden method
    return app
