"""Deadlines over HTTP: the dashboards' list (/v1/deadlines) and, for notify's daily digest, what each
centre has overdue and due today (/internal/v1/digest)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from services.cases.case.service import scope_of
from services.cases.deadline import service
from services.cases.deadline.schemas import DeadlinePage, Digest
from services.cases.identity.dependencies import ActiveClient
from shared.auth import CurrentPrincipal, service_caller
from shared.db import DbSession
from shared.openapi import problem_responses

router = APIRouter(prefix="/v1", tags=["deadlines"], dependencies=[ActiveClient])
internal_router = APIRouter(prefix="/internal/v1", tags=["internal"], dependencies=[service_caller("notify")])


@router.get(
    "/deadlines",
    response_model=DeadlinePage,
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
) -> DeadlinePage:
    filters = {"state": state, "kind": kind, "department_code": department, "due_before": due_before}
    return await service.list_deadlines(session, scope_of(principal), filters, cursor, limit)


@internal_router.get(
    "/digest",
    response_model=Digest,
    summary="Per centre: overdue clocks (and their cases) and clocks due today (China time)",
)
async def digest(session: DbSession, cases_per_centre: Annotated[int, Query(ge=0, le=5000)] = 50) -> Digest:
    return await service.digest(session, cases_per_centre)
