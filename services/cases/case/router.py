"""Case reads for centres and leaders (the list, also as the ledger 台账; one case; its parties revealed)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Header, Query, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse

from services.cases.audit import service as audit
from services.cases.case import service
from services.cases.case.schemas import CaseOut, CasePage, DeskCaseIn, PartiesRevealed, RevealRequest
from services.cases.context import CasesCtx
from services.cases.identity.dependencies import ActiveClient
from services.cases.ledger import service as ledger
from services.cases.ledger.service import XLSX_MEDIA_TYPE as XLSX
from shared.auth import CurrentPrincipal, Principal, require_roles
from shared.clock import clock
from shared.db import DbSession
from shared.openapi import problem_responses

router = APIRouter(prefix="/v1/cases", tags=["cases"], dependencies=[ActiveClient])


@router.get(
    "",
    response_model=CasePage,
    summary="Cases in the caller's scope, newest first (format=csv|xlsx or Accept: text/csv for the ledger 台账)",
    responses={
        **problem_responses(401, 404, 422),
        200: {"content": {"application/json": {}, "text/csv": {}, XLSX: {}}, "description": "cases"},
    },
)
async def list_cases(
    request: Request,
    session: DbSession,
    ctx: CasesCtx,
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
    department: Annotated[str | None, Query(max_length=40)] = None,
    overdue: bool = False,
    due_before: datetime | None = None,
    external_ref: Annotated[str | None, Query(max_length=60, description="the 12345 work-order number")] = None,
    party: Annotated[
        str | None,
        Query(min_length=1, max_length=40, description="a party's national ID number or phone (keyed hash match)"),
    ] = None,
    party_name: Annotated[str | None, Query(min_length=1, max_length=50, description="a party's name prefix")] = None,
    handling: Annotated[
        str | None,
        Query(
            max_length=40,
            description="`mine`: the queue of the caller's centre (the cases it handles now); or a centre's area code",
        ),
    ] = None,
    format: Annotated[
        Literal["json", "csv", "xlsx"], Query(description="csv / xlsx: the ledger 台账 of the same filter, streamed")
    ] = "json",
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Any:
    filters = {
        "state": state,
        "level": level,
        "tier": tier,
        "kind": kind,
        "category": category,
        "area": area,
        "report": report,
        "created_from": created_from,
        "created_to": created_to,
        "q": q,
        "department": department,
        "overdue": overdue,
        "due_before": due_before,
        "external_ref": external_ref,
        "party_keys": service.party_keys(ctx.cipher, party),
        "party_name": party_name,
        "handling": service.handling_filter(principal, handling),
        "now": clock.now(),
    }
    if format == "xlsx" or (format == "json" and XLSX in request.headers.get("accept", "")):
        await audit.record_export(session, principal, "xlsx", filters)
        return StreamingResponse(
            ledger.ledger_xlsx(ctx.db, principal, filters, ctx.cipher),
            media_type=XLSX,
            headers={"Content-Disposition": 'attachment; filename="ledger.xlsx"'},
        )
    if format == "csv" or (format == "json" and "text/csv" in request.headers.get("accept", "")):
        await audit.record_export(session, principal, "csv", filters)
        return StreamingResponse(
            ledger.ledger_csv(ctx.db, principal, filters, ctx.cipher),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="ledger.csv"'},
        )
    return await service.list_cases(session, principal, filters, cursor, limit)


@router.post(
    "",
    status_code=201,
    response_model=CaseOut,
    summary="Register a case brought to the centre (来访 visit · 来电 phone · 来信 letter · 12345 hotline_12345 · "
    "网上 online): graded, tiered and clocked like a phone's report; Idempotency-Key makes a retry the same case",
    responses=problem_responses(401, 404, 422),
)
async def register_case(
    body: DeskCaseIn,
    session: DbSession,
    ctx: CasesCtx,
    principal: Annotated[Principal, require_roles("dispatcher", "admin")],
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)] = None,
) -> Any:
    result = await service.register_once(session, ctx.domain, ctx.cipher, principal, body, idempotency_key)
    return JSONResponse(result, status_code=201)


@router.get(
    "/{case_id}",
    response_model=CaseOut,
    summary="One case with its reports and timeline",
    responses=problem_responses(401, 404, 422),
)
async def get_case(case_id: uuid.UUID, session: DbSession, ctx: CasesCtx, principal: CurrentPrincipal) -> CaseOut:
    return await service.get_case(session, principal, case_id, ctx.cipher)


@router.post(
    "/{case_id}/parties/reveal",
    response_model=PartiesRevealed,
    summary="当事人完整信息（联系当事人用）：dispatcher/admin in scope, with a reason; each look is a timeline entry "
    "(reveal_parties) and an audit log entry; Cache-Control: no-store",
    responses=problem_responses(401, 403, 404, 422),
)
async def reveal_parties(
    case_id: uuid.UUID,
    response: Response,
    session: DbSession,
    ctx: CasesCtx,
    principal: Annotated[Principal, require_roles("dispatcher", "admin", "leader")],
    body: Annotated[RevealRequest | None, Body()] = None,
) -> PartiesRevealed:
    response.headers["Cache-Control"] = "no-store"  # the unmasked parties stay in no cache
    return await service.reveal_parties(session, principal, case_id, ctx.cipher, body.reason if body else None)
