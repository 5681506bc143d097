"""POST /v1/cases/{id}/{action} — one route per action, each with its own body model."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Header
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from services.cases.case.action import service
from services.cases.case.action.schemas import BODIES
from services.cases.case.schemas import CaseOut
from services.cases.context import CasesCtx
from services.cases.identity.dependencies import ActiveClient
from services.cases.vocabulary import ACTION_ZH
from shared.auth import Principal, require_roles
from shared.db import DbSession
from shared.openapi import problem_responses

router = APIRouter(prefix="/v1/cases", tags=["case actions"], dependencies=[ActiveClient])


def _route(action: str, body_model: type[BaseModel]) -> None:
    async def endpoint(
        case_id: uuid.UUID,
        body: Any,  # the action's own model: set on the signature below
        session: DbSession,
        ctx: CasesCtx,
        principal: Annotated[Principal, require_roles("dispatcher", "admin", "leader")],
        idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)] = None,
    ) -> Any:
        result = await service.act(session, ctx.domain, ctx.cipher, principal, case_id, action, body, idempotency_key)
        return JSONResponse(result)

    endpoint.__name__ = f"case_{action}"
    endpoint.__annotations__["body"] = body_model  # the model itself, not a postponed name
    router.add_api_route(
        f"/{{case_id}}/{action}",
        endpoint,
        methods=["POST"],
        response_model=CaseOut,
        summary=f"{ACTION_ZH[action]} ({action})",
        responses=problem_responses(401, 403, 404, 409, 422),
    )


for _action, _model in BODIES.items():
    _route(_action, _model)
