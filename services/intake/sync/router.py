"""Phone sync routes: thin, they parse and call the service."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request

from services.intake.config import IntakeSettings, get_settings
from services.intake.sync import service
from services.intake.sync.schemas import PullResponse, PushResponse
from shared.auth import CurrentPrincipal
from shared.db import DbSession
from shared.errors import NotFound
from shared.openapi import problem_responses

router = APIRouter(prefix="/v1/sync", tags=["sync"])


def _settings(request: Request) -> IntakeSettings:
    return getattr(request.app.state, "settings", None) or get_settings()


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
    responses=problem_responses(401, 403, 404, 413, 422, 503),
)
async def push(
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    x_device_time: Annotated[str | None, Header(alias="X-Device-Time")] = None,
) -> PushResponse:
    if principal.role != "grid_worker":
        raise NotFound()
    body = service.parse_push(await request.body(), _settings(request).push_max_items)
    return await service.push(session, principal, body.device_id, body.items, x_device_time, request.app.state.cipher)


@router.get(
    "/pull",
    response_model=PullResponse,
    summary="Pull what changed for this worker (snapshot without a cursor; long poll with wait)",
    responses=problem_responses(401, 403, 404, 410, 422, 503),
)
async def pull(
    request: Request,
    principal: CurrentPrincipal,
    cursor: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    wait: Annotated[float, Query(ge=0, le=30)] = 0,
) -> PullResponse:
    if principal.role != "grid_worker":
        raise NotFound()
    state = request.app.state
    return await service.pull(
        state.db,
        state.notifier,
        principal,
        state.settings.service_token,
        cursor,
        limit,
        wait,
        state.settings.snapshot_days,
    )
