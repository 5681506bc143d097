"""Case reads for centres and leaders."""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request

from services.cases.case import service
from services.cases.case.schemas import CaseOut, CasePage
from shared.auth import CurrentPrincipal
from shared.db import DbSession
from shared.openapi import problem_responses

router = APIRouter(prefix="/v1/cases", tags=["cases"])


@router.get("", response_model=CasePage, summary="Cases in the caller's scope, newest first", responses=problem_responses(401, 404, 422))
async def list_cases(
    session: DbSession,
    principal: CurrentPrincipal,
    state: Annotated[str | None, Query(max_length=30)] = None,
    level: Annotated[str | None, Query(max_length=30)] = None,
    tier: Annotated[str | None, Query(max_length=30)] = None,
    kind: Annotated[str | None, Query(max_length=30)] = None,
    category: Annotated[str | None, Query(max_length=40)] = None,
    area: Annotated[str | None, Query(max_length=40)] = None,
    report: Annotated[str | None, Query(max_length=60)] = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> CasePage:
    filters = {
        "state": state, "level": level, "tier": tier, "kind": kind, "category": category, "area": area,
        "report": report, "created_from": created_from, "created_to": created_to, "q": q,
    }
    return await service.list_cases(session, principal, filters, cursor, limit)


@router.get("/{case_id}", response_model=CaseOut, summary="One case with its reports and timeline", responses=problem_responses(401, 404, 422))
async def get_case(case_id: uuid.UUID, request: Request, session: DbSession, principal: CurrentPrincipal) -> CaseOut:
    return await service.get_case(session, principal, case_id, request.app.state.cipher)
