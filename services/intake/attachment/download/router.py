"""The download of a stored photo or recording (a normal download, no Tus-Resumable needed; its
answers carry the header like every attachment route).

    GET     /v1/attachments/<sha256>        the stored file
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse

from services.intake.attachment.dependencies import TusRoute
from services.intake.attachment.download import service
from services.intake.context import IntakeCtx
from services.intake.device.dependencies import ActivePrincipal
from shared.openapi import problem_responses

router = APIRouter(prefix="/v1/attachments", tags=["attachments"], route_class=TusRoute)


@router.get(
    "/{sha256}",
    response_class=FileResponse,
    summary="A stored file, for those allowed to see a report that references it",
    responses={
        200: {
            "description": "The file with its stored content type (Range requests supported)",
            "content": {
                "image/*": {"schema": {"type": "string", "format": "binary"}},
                "audio/*": {"schema": {"type": "string", "format": "binary"}},
            },
        },
        **problem_responses(401, 403, 404, 503),
    },
)
async def download(sha256: str, ctx: IntakeCtx, principal: ActivePrincipal) -> FileResponse:
    # No request transaction: the service reads in a short one and gives the connection back before
    # asking cases about a department caller.
    stored = await service.stored_file(ctx.db, ctx.store, principal, sha256, ctx.case_access)
    return FileResponse(
        stored.path,
        media_type=stored.filetype,
        filename=stored.filename,
        content_disposition_type="inline",
        headers={
            "ETag": f'"{stored.sha256}"',
            "Cache-Control": "private, max-age=86400, immutable",
            "X-Content-Type-Options": "nosniff",
        },
    )
