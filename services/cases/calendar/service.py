"""The workday calendar's local overrides (调休 and local days off) and imported years as the rest of
cases reads them, and the operator's changes to them."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.cases.calendar import repository as repo
from services.cases.calendar.calendar import WorkCalendar


async def load_calendar(session: AsyncSession) -> WorkCalendar:
    """The calendar with this installation's overrides and imported years applied."""
    return WorkCalendar(await repo.load_overrides(session), published_years=await repo.published_years(session))


async def overview(session: AsyncSession) -> tuple[dict[date, bool], set[int]]:
    """The override table and the imported years."""
    return await repo.load_overrides(session), await repo.published_years(session)


async def set_override(
    session: AsyncSession, day: date, workday: bool, note: str | None, now: datetime
) -> WorkCalendar:
    """One day marked working or off; returns the calendar as it now is."""
    await repo.set_override(session, day, workday, note, now)
    return await load_calendar(session)


async def import_year(
    session: AsyncSession, year: int, days: dict[date, tuple[bool, str | None]], note: str | None, now: datetime
) -> WorkCalendar:
    """A year's official schedule (its holidays and make-up working days; every other day by the weekday
    rule) replaces that year's overrides and marks the year published; returns the calendar as it now is."""
    await repo.import_year(session, year, days, note, now)
    return await load_calendar(session)
