"""Internal: may this caller see the case of these reports? (intake's photo downloads; intake's token only)"""

from __future__ import annotations

from fastapi import APIRouter

from services.cases.access import service
from shared.auth import service_caller
from shared.contracts.access import CASE_ACCESS_PATH, CaseAccessAnswer, CaseAccessQuery
from shared.db import DbSession
from shared.openapi import problem_responses

router = APIRouter(tags=["internal"], dependencies=[service_caller("intake")])


@router.post(
    CASE_ACCESS_PATH,
    response_model=CaseAccessAnswer,
    summary="Whether a caller may see the case of any of these reports",
    responses=problem_responses(401, 413, 422),
)
async def case_access(query: CaseAccessQuery, session: DbSession) -> CaseAccessAnswer:
    return await service.case_access(session, query)
