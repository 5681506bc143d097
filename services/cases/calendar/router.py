"""The workday calendar's local overrides (本地调整) and imported years: an operator marks a day as working
or off, or imports a year's official schedule (国务院办公厅节假日安排); either way the clocks timed on an
estimate of those days are re-timed in the same transaction."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from services.cases.calendar import WorkCalendar, service
from services.cases.calendar.exceptions import DayOutsideYear, DayRepeated
from services.cases.context import CasesCtx
from services.cases.deadline.jobs import retime_in
from shared.auth import Principal, require_roles
from shared.clock import clock
from shared.db import DbSession
from shared.openapi import problem_responses

router = APIRouter(prefix="/v1/admin/calendar", tags=["admin"])
Admin = Annotated[Principal, require_roles("admin")]


class OverrideIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    workday: bool
    note: str | None = Field(default=None, max_length=200)


class YearDay(BaseModel):
    model_config = ConfigDict(extra="forbid")
    day: date
    workday: bool = Field(description="false: a public holiday; true: a make-up working day (调休) on a weekend")
    note: str | None = Field(default=None, max_length=200)


class YearIn(BaseModel):
    """A year's official schedule: its holidays and make-up working days; every other day of the year
    follows the weekday rule (Monday to Friday working)."""

    model_config = ConfigDict(extra="forbid")
    days: list[YearDay] = Field(max_length=366)
    note: str | None = Field(default=None, max_length=200, description="e.g. the State Council notice's number")


@router.get("", summary="Local overrides of the workday calendar", responses=problem_responses(401, 404))
async def list_overrides(session: DbSession, principal: Admin) -> dict[str, Any]:
    overrides, years = await service.overview(session)
    cal = WorkCalendar(overrides, published_years=years)
    return {
        "items": [{"day": d.isoformat(), "workday": w} for d, w in sorted(overrides.items())],
        "known_through": (cal.known_through() or date.min).isoformat(),
        "imported_years": sorted(years),
    }


@router.put(
    "/years/{year}",
    summary="Import a year's official schedule (holidays and make-up working days); re-times estimated clocks",
    responses=problem_responses(401, 404, 422),
)
async def import_year(
    year: Annotated[int, Path(ge=2000, le=2100)], body: YearIn, session: DbSession, ctx: CasesCtx, principal: Admin
) -> dict[str, Any]:
    days: dict[date, tuple[bool, str | None]] = {}
    for i, d in enumerate(body.days):
        if d.day.year != year:
            raise DayOutsideYear(["body", "days", i, "day"], f"{d.day.isoformat()} 不在 {year} 年内")
        if d.day in days:
            raise DayRepeated(["body", "days", i, "day"], f"{d.day.isoformat()} 重复")
        days[d.day] = (d.workday, d.note)
    now = clock.now()
    ctx.domain.deadlines.calendar = await service.import_year(session, year, days, body.note, now)
    retimed, skipped = await retime_in(session, ctx.domain.deadlines, now)
    ctx.retime_owed = ctx.retime_owed or skipped > 0
    return {"year": year, "days": len(days), "note": body.note, "retimed": retimed}


@router.put(
    "/{day}",
    summary="Mark a day as a working day or a day off (applies to new clocks; estimated clocks are re-timed)",
    responses=problem_responses(401, 404, 422),
)
async def set_override(
    day: date, body: OverrideIn, session: DbSession, ctx: CasesCtx, principal: Admin
) -> dict[str, Any]:
    now = clock.now()
    ctx.domain.deadlines.calendar = await service.set_override(session, day, body.workday, body.note, now)
    retimed, skipped = await retime_in(session, ctx.domain.deadlines, now)
    ctx.retime_owed = ctx.retime_owed or skipped > 0
    return {"day": day.isoformat(), "workday": body.workday, "note": body.note, "retimed": retimed}
