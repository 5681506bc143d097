"""GET /v1/stats/* (ops dashboards poll these) and the dashboard page itself (GET /dashboard)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import FileResponse, JSONResponse, Response

from services.cases.context import CasesCtx
from services.cases.stats import service
from services.cases.stats.policy import load_policy
from services.cases.stats.schemas import Overview, SlaOut, SubsidiesOut, TrendOut
from shared.auth import CurrentPrincipal
from shared.db import DbSession
from shared.openapi import problem_responses

router = APIRouter(prefix="/v1/stats", tags=["stats"])
page_router = APIRouter(tags=["dashboard"])

STATIC = Path(__file__).with_name("static")
ASSETS = {"dashboard.js": "text/javascript", "dashboard.css": "text/css"}
AreaParam = Annotated[str | None, Query(max_length=40, description="an area code (default: the caller's areas)")]
IfNoneMatch = Annotated[str | None, Header(alias="If-None-Match")]
POLLED: dict[int | str, dict[str, Any]] = {304: {"description": "not modified since the ETag sent in If-None-Match"}}


def _answer(polled: service.Polled[Any]) -> Response:
    """304 with the ETag when the caller holds this version, else the JSON body with it."""
    headers = {"ETag": polled.etag, "Cache-Control": "no-cache"}
    if polled.body is None:
        return Response(status_code=304, headers=headers)
    return JSONResponse(polled.body.model_dump(mode="json", by_alias=True), headers=headers)


@router.get(
    "/overview",
    response_model=Overview,
    summary="Case counts, overdue now, due in 24 h and patrols of an area (scoped like cases)",
    responses={**problem_responses(401, 404, 422), **POLLED},
)
async def overview(
    session: DbSession, principal: CurrentPrincipal, if_none_match: IfNoneMatch = None, area: AreaParam = None
) -> Response:
    return _answer(await service.overview(session, principal, area, if_none_match))


@router.get(
    "/sla",
    response_model=SlaOut,
    summary="On-time rates per deadline kind, 化解率, 调解成功率, 满意率, 小事不出村 per department or child area",
    responses={**problem_responses(401, 404, 422), **POLLED},
)
async def sla(
    session: DbSession,
    principal: CurrentPrincipal,
    group_by: Annotated[Literal["department", "area"], Query()] = "department",
    area: AreaParam = None,
    from_: Annotated[
        str | None, Query(alias="from", max_length=40, description="a date or an RFC 3339 time (China date)")
    ] = None,
    to: Annotated[str | None, Query(max_length=40, description="a date or an RFC 3339 time, inclusive")] = None,
    if_none_match: IfNoneMatch = None,
) -> Response:
    return _answer(await service.sla(session, principal, group_by, area, from_, to, if_none_match))


@router.get(
    "/trend",
    response_model=TrendOut,
    summary="Per day over the last `days` days: cases received and closed, the on-time rate of clocks due",
    responses={**problem_responses(401, 404, 422), **POLLED},
)
async def trend(
    session: DbSession,
    principal: CurrentPrincipal,
    area: AreaParam = None,
    days: Annotated[int, Query(ge=1, le=92)] = 30,
    if_none_match: IfNoneMatch = None,
) -> Response:
    return _answer(await service.trend(session, principal, area, days, if_none_match))


@router.get(
    "/subsidies",
    response_model=SubsidiesOut,
    summary="Mediator subsidies of a month (以案计补); Accept: text/csv gives the sheet for the finance office",
    responses={
        **problem_responses(401, 404, 422),
        **POLLED,
        200: {"content": {"application/json": {}, "text/csv": {}}, "description": "subsidies"},
    },
)
async def subsidies(
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    ctx: CasesCtx,
    month: Annotated[
        str | None, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="YYYY-MM (default: this month)")
    ] = None,
    area: AreaParam = None,
    format: Annotated[Literal["json", "csv"], Query()] = "json",
    if_none_match: IfNoneMatch = None,
) -> Response:
    policy = load_policy(ctx.settings.subsidy_policy_file)
    as_csv = format == "csv" or "text/csv" in request.headers.get("accept", "")
    polled = await service.subsidies(session, principal, month, area, policy, None if as_csv else if_none_match)
    if as_csv and polled.body is not None:
        return Response(
            service.subsidies_csv(polled.body),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="subsidies-{polled.body.month}.csv"'},
        )
    return _answer(polled)


@page_router.get("/dashboard", include_in_schema=False)
async def dashboard() -> FileResponse:
    """The ops dashboard (zh-CN, every asset served from here: it works on a closed intranet)."""
    return FileResponse(STATIC / "dashboard.html", media_type="text/html; charset=utf-8")


@page_router.get("/dashboard/static/{name}", include_in_schema=False)
async def dashboard_asset(name: str) -> Response:
    if name not in ASSETS:
        return Response(status_code=404)
    return FileResponse(STATIC / name, media_type=ASSETS[name], headers={"Cache-Control": "max-age=3600"})
