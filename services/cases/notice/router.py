"""Notices over HTTP: the list in the caller's scope; the addressed unit's answer; the issuing centre's close."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query
from fastapi.responses import JSONResponse

from services.cases.case.service import scope_of
from services.cases.context import CasesCtx
from services.cases.identity.dependencies import ActiveClient
from services.cases.notice import service
from services.cases.notice.schemas import NoticeAnswer, NoticeClose, NoticeIssue, NoticeOut, NoticePage
from shared.auth import CurrentPrincipal, Principal, require_roles
from shared.db import DbSession
from shared.openapi import problem_responses

router = APIRouter(prefix="/v1/notices", tags=["notices"], dependencies=[ActiveClient])


@router.get(
    "",
    response_model=NoticePage,
    summary="Supervision and warning notices in the caller's scope",
    responses=problem_responses(401, 404, 422),
)
async def list_notices(
    session: DbSession,
    principal: CurrentPrincipal,
    state: Annotated[Literal["issued", "answered", "closed"] | None, Query()] = None,
    kind: Annotated[Literal["supervision", "risk_warning"] | None, Query()] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> NoticePage:
    return await service.list_notices(session, scope_of(principal), state, kind, cursor, limit)


@router.post(
    "",
    status_code=201,
    response_model=NoticeOut,
    summary="领导督办: a leader or a higher centre's dispatcher issues a supervision notice by hand (Idempotency-Key)",
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def issue_notice(
    body: NoticeIssue,
    session: DbSession,
    ctx: CasesCtx,
    principal: Annotated[Principal, require_roles("leader", "dispatcher", "admin")],
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)] = None,
) -> Any:
    notice = await service.issue_by_hand_once(session, ctx.domain.deadlines, principal, body, idempotency_key)
    return JSONResponse(notice, status_code=201)


# answer and close reply with the notice as stored under the Idempotency-Key (a NoticeOut as JSON)


@router.post(
    "/{notice_id}/answer",
    summary="The addressed unit answers a notice (Idempotency-Key)",
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def answer_notice(
    notice_id: uuid.UUID,
    body: NoticeAnswer,
    session: DbSession,
    principal: CurrentPrincipal,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)] = None,
) -> dict[str, Any]:
    return await service.answer_notice_once(
        session, principal, scope_of(principal), notice_id, body.answer, idempotency_key
    )


@router.post(
    "/{notice_id}/close",
    summary="The issuing centre closes an answered notice (Idempotency-Key)",
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def close_notice(
    notice_id: uuid.UUID,
    body: NoticeClose,
    session: DbSession,
    principal: CurrentPrincipal,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)] = None,
) -> dict[str, Any]:
    return await service.close_notice_once(
        session, principal, scope_of(principal), notice_id, body.note, idempotency_key
    )
