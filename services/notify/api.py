"""Mounts notify's routers and assembles its event handlers: each domain's events.py holds what it
does with an incoming event; HANDLERS maps every event type notify takes to one of them."""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import APIRouter, FastAPI

from services.notify.context import NotifyContext
from services.notify.db import SCHEMA, inbox
from services.notify.delivery.router import router as deliveries_router
from services.notify.directory.events import on_directory_changed
from services.notify.endpoint.router import router as endpoints_router
from services.notify.event.events import record_event, record_events
from services.notify.notification.router import router as notifications_router
from shared.context import context_of
from shared.contracts.events import DIRECTORY_CHANGED, NOTIFY_EVENT_TYPES
from shared.inbox import BatchHandler, Handler, events_router, outbox_admin_router

HANDLERS: Mapping[str, Handler] = dict.fromkeys(NOTIFY_EVENT_TYPES, record_event) | {
    DIRECTORY_CHANGED: on_directory_changed
}
# Set-based handlers of many events of one type (shared/inbox.py; the per-event handler is the fallback).
BATCH_HANDLERS: Mapping[str, BatchHandler] = dict.fromkeys(NOTIFY_EVENT_TYPES, record_events)


def _context(app: FastAPI) -> NotifyContext:
    return context_of(app, NotifyContext)


def routers() -> list[APIRouter]:
    return [
        events_router(inbox, HANDLERS, _context, BATCH_HANDLERS, producers=("cases",)),
        outbox_admin_router(SCHEMA),
        notifications_router,
        deliveries_router,
        endpoints_router,
    ]
