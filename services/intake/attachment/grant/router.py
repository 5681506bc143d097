"""Internal: cases attaches a stored file to a case as a document (cases' token only).

POST /internal/v1/attachment-grants     confirm the finished upload, grant its fetch to the case's viewers
"""

from __future__ import annotations

from fastapi import APIRouter

from services.intake.attachment import service
from shared.auth import service_caller
from shared.clock import clock
from shared.contracts.attachments import ATTACHMENT_GRANTS_PATH, AttachmentGrant, GrantedFile
from shared.db import DbSession
from shared.openapi import problem_responses

router = APIRouter(tags=["internal"], dependencies=[service_caller("cases")])


@router.post(
    ATTACHMENT_GRANTS_PATH,
    response_model=GrantedFile,
    summary="Confirm a stored file its uploader finished and let those who may see the case fetch it",
    responses=problem_responses(401, 404, 422),
)
async def grant_document(grant: AttachmentGrant, session: DbSession) -> GrantedFile:
    return await service.grant_document(session, grant, clock.now())
