"""The in-app messages (站内消息) of dispatchers, leaders and department staff."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from services.notify.notification import service
from services.notify.notification.schemas import NotificationOut, NotificationPage
from shared.auth import CurrentPrincipal
from shared.db import DbSession
from shared.openapi import problem_responses

router = APIRouter(prefix="/v1/notifications", tags=["inbox"])


@router.get(
    "",
    response_model=NotificationPage,
    summary="The caller's notifications, newest first",
    responses=problem_responses(401, 404, 422),
)
async def list_notifications(
    session: DbSession,
    principal: CurrentPrincipal,
    status: Annotated[Literal["unread", "read"] | None, Query()] = None,
    recipient: Annotated[
        str | None, Query(max_length=100, description="admin only: another user's inbox (username)")
    ] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> NotificationPage:
    return await service.list_for(session, principal, recipient, status, cursor, limit)


@router.post(
    "/{notification_id}/read",
    response_model=NotificationOut,
    summary="Mark a notification read",
    responses=problem_responses(401, 404, 422),
)
async def mark_read(notification_id: uuid.UUID, session: DbSession, principal: CurrentPrincipal) -> NotificationOut:
    return await service.mark_read(session, principal, notification_id)
