"""Subjects over HTTP: persons and households with their risk level and cases, in the caller's scope."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from services.cases.case.service import scope_of
from services.cases.identity.dependencies import ActiveClient
from services.cases.subject import service
from services.cases.subject.schemas import SubjectPage
from shared.auth import CurrentPrincipal
from shared.db import DbSession
from shared.openapi import problem_responses

router = APIRouter(prefix="/v1/subjects", tags=["subjects"], dependencies=[ActiveClient])


@router.get(
    "",
    response_model=SubjectPage,
    summary="Persons and households with their risk level and cases",
    responses=problem_responses(401, 404, 422),
)
async def list_subjects(
    session: DbSession,
    principal: CurrentPrincipal,
    risk: Annotated[Literal["high", "medium", "low", "safe"] | None, Query()] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> SubjectPage:
    return await service.list_subjects(session, scope_of(principal), risk, cursor, limit)
