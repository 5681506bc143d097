"""SQL of the workday calendar's override table. Nothing here commits; the caller's unit of work does."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import delete, literal_column, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.cases.calendar.models import calendar_overrides as t


async def load_overrides(session: AsyncSession) -> dict[date, bool]:
    """The whole override table as {day: working?}, ready for `WorkCalendar(overrides=...)`."""
    rows = await session.execute(select(t.c.day, t.c.workday))
    return {r.day: r.workday for r in rows}


async def set_override(session: AsyncSession, day: date, workday: bool, note: str | None, now: datetime) -> bool:
    """Declare `day` a working day (True) or a day off (False). True if the day had no override yet."""
    row = insert(t).values(day=day, workday=workday, note=note, updated_at=now)
    upsert = row.on_conflict_do_update(
        index_elements=[t.c.day],
        set_={"workday": row.excluded.workday, "note": row.excluded.note, "updated_at": row.excluded.updated_at},
    )
    return bool((await session.execute(upsert.returning(literal_column("(xmax = 0)")))).scalar_one())


async def delete_override(session: AsyncSession, day: date) -> bool:
    """Drop the override of `day` (the official calendar applies again). True if there was one."""
    result = await session.execute(delete(t).where(t.c.day == day).returning(t.c.day))
    return result.first() is not None
