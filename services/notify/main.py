"""The notify service. It receives the events of cases through its inbox and keeps them; delivery
(webhooks, SMS, phone messages, in-app inbox) is built on them."""
from __future__ import annotations

from fastapi import FastAPI

from services.notify.config import NotifySettings, get_settings
from services.notify.db import inbox
from services.notify.event.service import HANDLERS
from shared.app import ServiceSpec, create_service_app
from shared.inbox import events_router


def create_app(settings: NotifySettings | None = None) -> FastAPI:
    settings = settings or get_settings()
    return create_service_app(
        ServiceSpec(
            name="notify",
            settings=settings,
            routers=[events_router(inbox, HANDLERS)],
            title="Notify — 提醒与消息投递",
            description="Reminders, webhooks to department systems, SMS, phone messages.",
        )
    )
