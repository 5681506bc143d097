"""The workday calendar's local overrides (调休 and local days off) as the rest of cases reads them."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.cases.calendar import repository as repo
from services.cases.calendar.calendar import WorkCalendar


async def load_calendar(session: AsyncSession) -> WorkCalendar:
    """The calendar with this installation's overrides applied."""
    return WorkCalendar(await repo.load_overrides(session))
