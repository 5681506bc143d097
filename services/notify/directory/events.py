"""What notify does with directory.changed: its copy of who is who, and the departments' webhooks."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.notify.context import NotifyContext
from services.notify.directory import service
from services.notify.endpoint import service as endpoint_service
from shared.inbox import EventIn


async def on_directory_changed(session: AsyncSession, event: EventIn, ctx: NotifyContext) -> None:
    """Who is who (users, departments with heads and webhook settings) from cases' org directory; then
    the webhook settings the document brings reach the departments' endpoints."""
    await service.apply_document(session, event.payload)
    await endpoint_service.apply_directory_webhooks(
        session,
        ctx.cipher,
        event.payload.get("departments") or [],
        allow_private_targets=ctx.settings.webhook_allow_private_targets,
    )
