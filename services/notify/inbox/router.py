"""The in-app inbox (站内消息) of dispatchers, leaders and department staff."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel

from services.notify.inbox import service
from shared.auth import CurrentPrincipal
from shared.db import DbSession
from shared.openapi import problem_responses

router = APIRouter(prefix="/v1/notifications", tags=["inbox"])


class NotificationPage(BaseModel):
    items: list[dict[str, Any]]
    next_cursor: str | None
    unread: int


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
    return NotificationPage(**await service.list_for(session, principal, recipient, status, cursor, limit))


@router.post("/{notification_id}/read", summary="Mark a notification read", responses=problem_responses(401, 404, 422))
async def mark_read(notification_id: uuid.UUID, session: DbSession, principal: CurrentPrincipal) -> dict[str, Any]:
    return await service.mark_read(session, principal, notification_id)
