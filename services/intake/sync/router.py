"""Phone sync routes: thin, they parse and call the service."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request

from services.intake.context import IntakeCtx
from services.intake.device.service import require_grid_worker
from services.intake.sync import service
from services.intake.sync.schemas import PullResponse, PushResponse
from shared.auth import CurrentPrincipal
from shared.db import DbSession
from shared.openapi import problem_responses

router = APIRouter(prefix="/v1/sync", tags=["sync"])


@router.post(
    "/push",
    response_model=PushResponse,
    response_model_exclude_none=True,
    summary="Push reports made offline (each item idempotent by its id)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PushRequest"}}},
        }
    },
    responses=problem_responses(401, 403, 404, 413, 422, 429, 503),
)
async def push(
    request: Request,
    session: DbSession,
    ctx: IntakeCtx,
    principal: CurrentPrincipal,
    x_device_time: Annotated[str | None, Header(alias="X-Device-Time")] = None,
) -> PushResponse:
    require_grid_worker(principal)
    body = service.parse_push(await request.body(), ctx.settings.push_max_items)
    return await service.push(
        session, principal, body.device_id, body.items, x_device_time, ctx.cipher, ctx.settings.push_rate
    )


@router.get(
    "/pull",
    response_model=PullResponse,
    summary="Pull what changed for this worker (snapshot without a cursor; long poll with wait)",
    responses=problem_responses(401, 403, 404, 410, 422, 503),
)
async def pull(
    ctx: IntakeCtx,
    principal: CurrentPrincipal,
    cursor: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    wait: Annotated[float, Query(ge=0, le=30)] = 0,
) -> PullResponse:
    require_grid_worker(principal)
    return await service.pull(
        ctx.db,
        ctx.notifier,
        principal,
        ctx.settings.pull_cursor_key,
        cursor,
        limit,
        wait,
        ctx.settings.snapshot_days,
    )
