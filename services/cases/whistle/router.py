"""Department side of 吹哨报到: its whistle items and what it reports on them."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query
from pydantic import BaseModel

from services.cases.context import CasesCtx
from services.cases.identity.dependencies import ActiveClient
from services.cases.whistle import service
from services.cases.whistle.schemas import WhistleNote, WhistlePage, WhistleReturn
from shared.auth import CurrentPrincipal, Principal, require_roles
from shared.db import DbSession
from shared.openapi import problem_responses

router = APIRouter(prefix="/v1/whistles", tags=["whistles"], dependencies=[ActiveClient])
Department = Annotated[Principal, require_roles("department_staff", "department_system")]


@router.get(
    "",
    response_model=WhistlePage,
    summary="The caller's department's whistle items",
    responses=problem_responses(401, 404, 422),
)
async def list_whistles(
    session: DbSession,
    principal: CurrentPrincipal,
    status: Annotated[
        Literal["pending", "acknowledged", "working", "done", "returned", "cancelled"] | None, Query()
    ] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> WhistlePage:
    return await service.list_mine(session, principal, status, cursor, limit)


def _move(move: str, body_model: type[BaseModel], summary: str) -> None:
    async def endpoint(
        whistle_id: uuid.UUID,
        body: Any,  # the move's own model: set on the signature below
        session: DbSession,
        ctx: CasesCtx,
        principal: Department,
        idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)] = None,
    ) -> dict[str, Any]:
        note = getattr(body, "reason", None) or getattr(body, "note", None)
        return await service.act_once(session, ctx.domain, principal, whistle_id, move, note, idempotency_key)

    endpoint.__name__ = f"whistle_{move}"
    endpoint.__annotations__["body"] = body_model  # the model itself, not a postponed name
    router.add_api_route(
        f"/{{whistle_id}}/{move}",
        endpoint,
        methods=["POST"],
        summary=summary + " (Idempotency-Key)",
        responses=problem_responses(401, 404, 409, 422),
    )


_move("ack", WhistleNote, "报到 — report in")
_move("progress", WhistleNote, "报告进展 — report progress")
_move("done", WhistleNote, "报告办结 — report done")
_move("return", WhistleReturn, "退回 — return with a reason")
