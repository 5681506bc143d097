"""Operators (admin) watch deliveries and send failed or dead ones again."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from services.notify.context import Context
from services.notify.delivery import service
from services.notify.delivery.schemas import DeliveryOut, DeliveryPage, RetryFilter, RetryResult
from shared.auth import require_roles
from shared.db import DbSession
from shared.openapi import problem_responses

router = APIRouter(prefix="/v1/deliveries", tags=["deliveries"], dependencies=[require_roles("admin")])


@router.get(
    "",
    response_model=DeliveryPage,
    summary="Deliveries by state and channel, newest first (dead letters: status=dead)",
    responses=problem_responses(401, 404, 422),
)
async def list_deliveries(
    session: DbSession,
    ctx: Context,
    status: Annotated[
        Literal["pending", "delivered", "failed", "dead", "skipped", "handed_off"] | None, Query()
    ] = None,
    channel: Annotated[Literal["webhook", "sms", "phone", "inbox"] | None, Query()] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> DeliveryPage:
    return await service.list_deliveries(session, ctx.cipher, status, channel, cursor, limit)


@router.post(
    "/retry",
    response_model=RetryResult,
    summary="Send again at once every failed/dead (or skipped) delivery matching the filter (attempts kept)",
    responses=problem_responses(401, 404, 422),
)
async def retry_deliveries(body: RetryFilter, session: DbSession) -> RetryResult:
    return await service.retry_matching(session, list(body.status), body.channel, body.department, body.since)


@router.post(
    "/{delivery_id}/retry",
    response_model=DeliveryOut,
    summary="Send a failed or dead delivery again now (attempts kept); 409 if it was delivered",
    responses=problem_responses(401, 404, 409, 422),
)
async def retry_delivery(delivery_id: uuid.UUID, session: DbSession, ctx: Context) -> DeliveryOut:
    return await service.retry(session, ctx.cipher, delivery_id)
