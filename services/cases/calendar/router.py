"""The local calendar override table (本地调整): an operator marks a day as working or off."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from services.cases.calendar import WorkCalendar
from services.cases.calendar import repository as repo
from services.cases.context import CasesCtx
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


@router.get("", summary="Local overrides of the workday calendar", responses=problem_responses(401, 404))
async def list_overrides(session: DbSession, principal: Admin) -> dict[str, Any]:
    overrides = await repo.load_overrides(session)
    cal = WorkCalendar(overrides)
    return {
        "items": [{"day": d.isoformat(), "workday": w} for d, w in sorted(overrides.items())],
        "known_through": (cal.known_through() or date.min).isoformat(),
    }


@router.put(
    "/{day}",
    summary="Mark a day as a working day or a day off (applies to new and re-timed clocks)",
    responses=problem_responses(401, 404, 422),
)
async def set_override(
    day: date, body: OverrideIn, session: DbSession, ctx: CasesCtx, principal: Admin
) -> dict[str, Any]:
    await repo.set_override(session, day, body.workday, body.note, clock.now())
    overrides = await repo.load_overrides(session)
    ctx.domain.deadlines.calendar = WorkCalendar(overrides)
    return {"day": day.isoformat(), "workday": body.workday, "note": body.note}
