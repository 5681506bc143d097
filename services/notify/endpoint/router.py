"""Operators set where a department system gets its webhooks (PUT) and look at it (GET)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from services.notify.context import Context
from services.notify.endpoint import service
from services.notify.endpoint.schemas import EndpointIn, EndpointOut
from shared.auth import require_roles
from shared.db import DbSession
from shared.openapi import problem_responses

router = APIRouter(prefix="/v1/endpoints", tags=["webhook endpoints"], dependencies=[require_roles("admin")])

DepartmentCode = Annotated[str, Path(min_length=1, max_length=40, description="department code, e.g. PS-DL")]


@router.put(
    "/{department_code}",
    response_model=EndpointOut,
    summary="Set a department's webhook URL and secret (rotation keeps the old secret 24 h)",
    responses=problem_responses(401, 404, 422),
)
async def put_endpoint(
    department_code: DepartmentCode, body: EndpointIn, session: DbSession, ctx: Context
) -> EndpointOut:
    return EndpointOut(
        **await service.put_endpoint(
            session,
            ctx.cipher,
            department_code,
            body.url,
            body.secret,
            allow_private_targets=ctx.settings.webhook_allow_private_targets,
        )
    )


@router.get(
    "/{department_code}",
    response_model=EndpointOut,
    summary="A department's webhook endpoint (secrets are never shown: count and expiry only)",
    responses=problem_responses(401, 404, 422),
)
async def get_endpoint(department_code: DepartmentCode, session: DbSession) -> EndpointOut:
    return EndpointOut(**await service.get_endpoint(session, department_code))
