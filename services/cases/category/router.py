"""GET /v1/categories — the live dispute categories with their zh-CN names (for the centre's desk)."""

from __future__ import annotations

from fastapi import APIRouter

from services.cases.category import service
from services.cases.category.schemas import CategoryList
from services.cases.identity.dependencies import ActiveClient
from shared.auth import CurrentPrincipal
from shared.db import DbSession
from shared.openapi import problem_responses

router = APIRouter(prefix="/v1/categories", tags=["org"], dependencies=[ActiveClient])


@router.get("", response_model=CategoryList, summary="The dispute categories", responses=problem_responses(401))
async def list_categories(session: DbSession, principal: CurrentPrincipal) -> CategoryList:
    return await service.list_categories(session)
