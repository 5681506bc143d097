"""Reads of the clocks for dashboards; notices; subjects."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query
from pydantic import BaseModel, ConfigDict, Field

from services.cases.deadline import reads
from services.cases.notice import actions as notice_actions
from shared.auth import CurrentPrincipal
from shared.db import DbSession
from shared.openapi import problem_responses

router = APIRouter(prefix="/v1", tags=["deadlines, notices, subjects"])


class Page(BaseModel):
    items: list[dict[str, Any]]
    next_cursor: str | None


class NoticeAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid")
    answer: str = Field(min_length=1, max_length=4000)


@router.get(
    "/deadlines",
    response_model=Page,
    summary="Deadlines in the caller's scope, soonest first",
    responses=problem_responses(401, 404, 422),
)
async def list_deadlines(
    session: DbSession,
    principal: CurrentPrincipal,
    state: Annotated[Literal["pending", "met", "breached", "cancelled"] | None, Query()] = None,
    kind: Annotated[str | None, Query(max_length=30)] = None,
    department: Annotated[str | None, Query(max_length=40)] = None,
    due_before: datetime | None = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Page:
    return Page(
        **await reads.deadlines(
            session,
            principal,
            {"state": state, "kind": kind, "department_code": department, "due_before": due_before},
            cursor,
            limit,
        )
    )


@router.get(
    "/notices",
    response_model=Page,
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
) -> Page:
    return Page(**await reads.notices(session, principal, state, kind, cursor, limit))


class NoticeClose(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str | None = Field(default=None, max_length=2000)


@router.post(
    "/notices/{notice_id}/answer",
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
    return await notice_actions.answer_notice_once(session, principal, notice_id, body.answer, idempotency_key)


@router.post(
    "/notices/{notice_id}/close",
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
    return await notice_actions.close_notice_once(session, principal, notice_id, body.note, idempotency_key)


@router.get(
    "/subjects",
    response_model=Page,
    summary="Persons and households with their risk level and cases",
    responses=problem_responses(401, 404, 422),
)
async def list_subjects(
    session: DbSession,
    principal: CurrentPrincipal,
    risk: Annotated[Literal["high", "medium", "low", "safe"] | None, Query()] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Page:
    return Page(**await reads.subjects(session, principal, risk, cursor, limit))
