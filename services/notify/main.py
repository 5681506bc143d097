"""The notify service. Delivery (webhooks, SMS, phone messages, inbox) is built on this frame; today it
serves its health, readiness and metrics so that deployments and `make run` can manage it."""
from __future__ import annotations

from fastapi import FastAPI

from services.notify.config import NotifySettings, get_settings
from shared.app import ServiceSpec, create_service_app


def create_app(settings: NotifySettings | None = None) -> FastAPI:
    settings = settings or get_settings()
    return create_service_app(
        ServiceSpec(
            name="notify",
            settings=settings,
            routers=[],
            title="Notify — 提醒与消息投递",
            description="Reminders, webhooks to department systems, SMS, phone messages.",
        )
    )
