"""Upload routes: tus 1.0.0 (core, creation, checksum, expiration, termination) for phones, and for
dispatchers and department staff uploading a case document (PDF too: DOCUMENT_TYPES). Thin: they
read the protocol headers and call the service.

    OPTIONS /v1/attachments                 what this server speaks (no token needed)
    POST    /v1/attachments                 create an upload → Location /v1/attachments/uploads/<id>
    HEAD    /v1/attachments/uploads/<id>    its offset (an expired upload: 404, so a client creates it anew)
    PATCH   /v1/attachments/uploads/<id>    append a chunk at Upload-Offset
    DELETE  /v1/attachments/uploads/<id>    drop an unfinished upload (a finished one: 409, kept)
    GET     /v1/attachments/<sha256>        the stored file: attachment/download/router.py

A POST to an upload with `X-HTTP-Method-Override: PATCH|DELETE|HEAD` is that method
(attachment/method_override.py).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from email.utils import format_datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request, Response
from starlette.requests import ClientDisconnect

from services.intake.attachment import service
from services.intake.attachment.dependencies import Policy, Store, TusRequest, TusRoute, Uploader
from services.intake.attachment.exceptions import ChunkContentTypeUnsupported, UploadNotFound
from services.intake.attachment.schemas import (
    OFFSET_OCTET_STREAM,
    TUS_CHECKSUM_ALGORITHMS,
    TUS_EXTENSIONS,
    TUS_HEADERS,
    TUS_VERSION,
    UploadState,
    is_offset_octet_stream,
    parse_checksum,
    parse_metadata,
    parse_non_negative,
)
from services.intake.attachment.service import Refused, UploadPolicy
from services.intake.attachment.storage import BodyInterrupted
from services.intake.context import IntakeCtx
from shared.db import DbSession
from shared.errors import problem_body, problem_response
from shared.openapi import problem_responses

router = APIRouter(prefix="/v1/attachments", tags=["attachments"], route_class=TusRoute)


def _upload_id(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise UploadNotFound() from None


def _upload_headers(state: UploadState) -> dict[str, str]:
    headers = {"Upload-Offset": str(state.offset)}
    if state.expires_at is not None:
        headers["Upload-Expires"] = format_datetime(state.expires_at, usegmt=True)
    return headers


def _refusal(refused: Refused) -> Response:
    p = refused.problem
    body = problem_body(p.status, p.code, p.title, p.detail, errors=p.errors, **p.extra)
    return problem_response(p.status, body, {**p.headers, **TUS_HEADERS})


async def _body(request: Request) -> AsyncIterator[bytes]:
    try:
        async for chunk in request.stream():
            yield chunk
    except ClientDisconnect:
        raise BodyInterrupted() from None


def _capabilities(policy: UploadPolicy) -> dict[str, str]:
    return {
        "Tus-Resumable": TUS_VERSION,
        "Tus-Version": TUS_VERSION,
        "Tus-Extension": TUS_EXTENSIONS,
        "Tus-Max-Size": str(policy.max_bytes),
        "Tus-Checksum-Algorithm": TUS_CHECKSUM_ALGORITHMS,
    }


_CAPABILITIES: dict[int | str, dict[str, Any]] = {
    204: {
        "description": "tus capabilities in Tus-Version, Tus-Extension, Tus-Max-Size, Tus-Checksum-Algorithm",
    }
}


@router.options("", status_code=204, summary="tus capabilities (no token needed)", responses=_CAPABILITIES)
async def capabilities(policy: Policy) -> Response:
    return Response(status_code=204, headers=_capabilities(policy))


@router.options(
    "/uploads/{upload_id}", status_code=204, summary="tus capabilities (no token needed)", responses=_CAPABILITIES
)
async def upload_capabilities(upload_id: str, policy: Policy) -> Response:
    return Response(status_code=204, headers=_capabilities(policy))


@router.post(
    "",
    status_code=201,
    summary="Create an upload (tus creation); an already stored file comes back finished",
    dependencies=[TusRequest],
    responses={
        201: {
            "description": "Created: Location of the upload, Upload-Offset (0, or the length if the file is already"
            " stored), Upload-Expires"
        },
        **problem_responses(400, 401, 403, 404, 412, 413, 415, 422, 429, 503),
    },
)
async def create_upload(
    request: Request,
    session: DbSession,
    principal: Uploader,
    store: Store,
    policy: Policy,
    upload_length: Annotated[
        str | None, Header(alias="Upload-Length", description="the whole file's size in bytes")
    ] = None,
    upload_metadata: Annotated[
        str | None,
        Header(
            alias="Upload-Metadata",
            description="`sha256 <b64>,filetype <b64>[,filename <b64>]`; sha256 is the whole file's hex digest",
        ),
    ] = None,
) -> Response:
    length = parse_non_negative("Upload-Length", upload_length)
    metadata = parse_metadata(upload_metadata)
    state = await service.create_upload(session, store, policy, principal, length, metadata)
    location = f"{request.scope.get('root_path', '')}{router.prefix}/uploads/{state.id}"
    return Response(status_code=201, headers={"Location": location, **_upload_headers(state)})


@router.head(
    "/uploads/{upload_id}",
    summary="The upload's offset (only its uploader; anyone else 404)",
    dependencies=[TusRequest],
    responses={
        200: {
            "description": "Upload-Offset, Upload-Length, Upload-Metadata, Upload-Expires (unfinished),"
            " Cache-Control: no-store"
        },
        **problem_responses(401, 403, 404, 412, 503),
    },
)
async def upload_offset(upload_id: str, session: DbSession, principal: Uploader) -> Response:
    state = await service.upload_state(session, principal, _upload_id(upload_id))
    headers = {
        **_upload_headers(state),
        "Upload-Length": str(state.length),
        "Upload-Metadata": state.metadata.encode(),
        "Cache-Control": "no-store",
    }
    return Response(status_code=200, headers=headers)


@router.patch(
    "/uploads/{upload_id}",
    status_code=204,
    summary="Append a chunk at Upload-Offset (checksum extension: Upload-Checksum)",
    dependencies=[TusRequest],
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {OFFSET_OCTET_STREAM: {"schema": {"type": "string", "format": "binary"}}},
        }
    },
    responses={
        204: {"description": "Appended: the new Upload-Offset; at the length the file is verified and stored"},
        **problem_responses(400, 401, 403, 404, 409, 412, 413, 415, 422, 460, 503),
    },
)
async def append_chunk(
    upload_id: str,
    request: Request,
    ctx: IntakeCtx,
    principal: Uploader,
    upload_offset: Annotated[str | None, Header(alias="Upload-Offset")] = None,
    upload_checksum: Annotated[
        str | None, Header(alias="Upload-Checksum", description="`sha1|sha256|md5 <base64 digest>` of this chunk")
    ] = None,
) -> Response:
    if not is_offset_octet_stream(request.headers.get("content-type")):
        raise ChunkContentTypeUnsupported(OFFSET_OCTET_STREAM)
    uid = _upload_id(upload_id)
    offset = parse_non_negative("Upload-Offset", upload_offset)
    checksum = parse_checksum(upload_checksum)
    declared = request.headers.get("content-length", "")
    content_length = int(declared) if declared.isdigit() else None
    # No request transaction here: the service uses two short ones around the streaming, so a slow
    # phone holds no pooled connection while its bytes arrive.
    result = await service.append_chunk(
        ctx.db, ctx.store, principal, uid, offset, content_length, checksum, _body(request)
    )
    if isinstance(result, Refused):
        return _refusal(result)
    return Response(status_code=204, headers=_upload_headers(result))


@router.delete(
    "/uploads/{upload_id}",
    status_code=204,
    summary="Drop an unfinished upload (tus termination); a finished one is refused with 409 upload_finished and kept",
    dependencies=[TusRequest],
    responses={204: {"description": "Terminated"}, **problem_responses(401, 403, 404, 409, 412, 503)},
)
async def terminate_upload(upload_id: str, session: DbSession, principal: Uploader, store: Store) -> Response:
    await service.terminate_upload(session, store, principal, _upload_id(upload_id))
    return Response(status_code=204)
