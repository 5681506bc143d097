"""POST /v1/cases/{id}/documents — attach a file uploaded through intake's tus endpoint to a case."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Header
from fastapi.responses import JSONResponse

from services.cases.case.schemas import CaseOut
from services.cases.context import CasesCtx
from services.cases.document import service
from services.cases.document.schemas import DocumentIn
from services.cases.identity.dependencies import ActiveClient
from shared.auth import Principal, require_roles
from shared.db import DbSession
from shared.openapi import problem_responses

router = APIRouter(prefix="/v1/cases", tags=["case documents"], dependencies=[ActiveClient])


@router.post(
    "/{case_id}/documents",
    status_code=201,
    response_model=CaseOut,
    summary="Attach a document (调解协议书, 司法确认书, 笔录, 照片 …) the caller uploaded through intake's tus "
    "endpoint: image, audio or PDF; fetched from intake (GET /v1/attachments/{sha256}) by those who may see the case",
    responses=problem_responses(401, 403, 404, 422, 503),
)
async def attach_document(
    case_id: uuid.UUID,
    body: DocumentIn,
    session: DbSession,
    ctx: CasesCtx,
    principal: Annotated[Principal, require_roles("dispatcher", "admin", "leader", "department_staff")],
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)] = None,
) -> Any:
    result = await service.attach_once(
        session, ctx.attachment_grants, ctx.cipher, principal, case_id, body, idempotency_key
    )
    return JSONResponse(result, status_code=201)
