"""Mounts intake's routers: /v1 for phones, /internal/v1 for other services."""

from fastapi import APIRouter

from services.intake.attachment.router import router as attachments_router
from services.intake.db import SCHEMA, inbox
from services.intake.events import HANDLERS
from services.intake.sync.router import router as sync_router
from shared.inbox import events_router, outbox_admin_router


def routers() -> list[APIRouter]:
    return [sync_router, attachments_router, events_router(inbox, HANDLERS), outbox_admin_router(SCHEMA)]
