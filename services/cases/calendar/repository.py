"""SQL of the workday calendar's override table. Nothing here commits; the caller's unit of work does."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import delete, literal_column, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.cases.calendar.models import calendar_overrides as t
from services.cases.calendar.models import calendar_years as y


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


async def published_years(session: AsyncSession) -> set[int]:
    """The years whose official calendar an operator imported."""
    return set((await session.execute(select(y.c.year))).scalars())


async def import_year(
    session: AsyncSession, year: int, days: dict[date, tuple[bool, str | None]], note: str | None, now: datetime
) -> None:
    """The year's official schedule: its overrides become exactly `days` (holidays and make-up working
    days), and the year is recorded as published. Safe to repeat."""
    await session.execute(
        delete(t).where(t.c.day >= date(year, 1, 1), t.c.day < date(year + 1, 1, 1), t.c.day.not_in(list(days)))
    )
    if days:
        rows = insert(t).values(
            [{"day": d, "workday": w, "note": n, "updated_at": now} for d, (w, n) in sorted(days.items())]
        )
        await session.execute(
            rows.on_conflict_do_update(
                index_elements=[t.c.day],
                set_={
                    "workday": rows.excluded.workday,
                    "note": rows.excluded.note,
                    "updated_at": rows.excluded.updated_at,
                },
            )
        )
    marked = insert(y).values(year=year, note=note, imported_at=now)
    await session.execute(
        marked.on_conflict_do_update(
            index_elements=[y.c.year], set_={"note": marked.excluded.note, "imported_at": marked.excluded.imported_at}
        )
    )
