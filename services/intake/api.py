"""Mounts intake's routers (/v1 for phones, /internal/v1 for other services) and assembles the event
handlers: each domain's events.py holds its handlers, this module puts them together."""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import APIRouter

from services.intake.attachment.download.router import router as download_router
from services.intake.attachment.grant.router import router as grant_router
from services.intake.attachment.router import router as uploads_router
from services.intake.context import IntakeContext
from services.intake.db import SCHEMA, inbox
from services.intake.device.events import HANDLERS as DEVICE_HANDLERS
from services.intake.directory.events import HANDLERS as DIRECTORY_HANDLERS
from services.intake.feed.events import HANDLERS as FEED_HANDLERS
from services.intake.report.events import BATCH_HANDLERS as REPORT_BATCH_HANDLERS
from services.intake.report.events import HANDLERS as REPORT_HANDLERS
from services.intake.sync.router import router as sync_router
from services.intake.task.events import HANDLERS as TASK_HANDLERS
from shared.context import context_of
from shared.inbox import BatchHandler, Handler, events_router, outbox_admin_router


def _assemble(*parts: Mapping[str, Handler[IntakeContext]]) -> dict[str, Handler[IntakeContext]]:
    handlers: dict[str, Handler[IntakeContext]] = {}
    for part in parts:
        taken = handlers.keys() & part.keys()
        if taken:
            raise RuntimeError(f"two intake handlers for {sorted(taken)}")
        handlers.update(part)
    return handlers


HANDLERS = _assemble(FEED_HANDLERS, TASK_HANDLERS, REPORT_HANDLERS, DEVICE_HANDLERS, DIRECTORY_HANDLERS)
# Set-based handlers of many events of one type at once (shared/inbox.py; the per-event handler is the fallback).
BATCH_HANDLERS: dict[str, BatchHandler[IntakeContext]] = dict(REPORT_BATCH_HANDLERS)


def routers() -> list[APIRouter]:
    return [
        sync_router,
        uploads_router,
        download_router,
        grant_router,
        events_router(
            inbox, HANDLERS, lambda app: context_of(app, IntakeContext), BATCH_HANDLERS, producers=("cases", "notify")
        ),
        outbox_admin_router(SCHEMA),
    ]
