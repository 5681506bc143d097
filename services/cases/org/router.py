"""Org import over HTTP (admin)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request

from services.cases.case import service as case_service
from services.cases.context import CasesCtx
from services.cases.org import service
from services.cases.org.schemas import ImportResult
from shared.auth import Principal, require_roles
from shared.clock import clock
from shared.db import DbSession
from shared.openapi import problem_responses

router = APIRouter(prefix="/v1/admin", tags=["admin"])

_ORG_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/OrgDocument"}},
            "application/yaml": {"schema": {"$ref": "#/components/schemas/OrgDocument"}},
        },
    }
}


@router.post(
    "/org",
    response_model=ImportResult,
    summary="Import the org document (areas, departments, users, clients); idempotent upsert",
    openapi_extra=_ORG_BODY,
    responses=problem_responses(401, 404, 413, 422),
)
async def import_org(
    request: Request, session: DbSession, ctx: CasesCtx, principal: Annotated[Principal, require_roles("admin")]
) -> ImportResult:
    doc = service.parse_document(await request.body(), request.headers.get("content-type", ""))
    result = await service.import_org(session, doc, ctx.cipher)
    await case_service.rehome_unstaffed(session, clock.now())
    return result
