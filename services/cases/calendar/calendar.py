"""The workday calendar (工作日历) and the clock arithmetic of deadlines (时限). Pure: no database,
no clock; the caller passes the override table in and reads time elsewhere.

Where a day's status comes from, first match wins:
1. the local override table (`cases.calendar_overrides`): True = working day, False = day off;
2. `chinese_calendar.is_workday`: public holidays and the make-up working days (调休) for the years
   the State Council has published;
3. a year imported by an operator (`cases.calendar_years`, PUT /v1/admin/calendar/years/{year}): its
   holidays and make-up days are overrides, every other day follows the weekday rule — official;
4. an estimate for later (or much earlier) years: weekends plus the `holidays` package's China
   public holidays. Such a day is *provisional*, and so is every deadline whose result depended on it
   (deadline.service.retime_provisional recomputes those once the year becomes known).

Working time runs on China time (Asia/Shanghai), midnight to midnight: a working day contributes
24 hours, a day off none. A `workday` limit is that much working time, so `3d` started on a Friday at
15:00 before a normal weekend ends on Wednesday at 15:00, and `10m` started at 23:55 on a Friday ends
at 00:05 on Monday. Started on a day off, the clock starts at the next working day's 00:00.
The due instant is the earliest one at which the elapsed working time reaches the limit, so a
limit that uses up a working day exactly ends at that day's 24:00 (the next day's 00:00).
"""

from __future__ import annotations

import logging
from bisect import bisect_left
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache
from itertools import accumulate
from typing import Literal

import chinese_calendar
import holidays

from shared.clock import CHINA_TZ, UTC

CalendarMode = Literal["natural", "workday"]

DAY = timedelta(days=1)
_ZERO = timedelta(0)
_MIDNIGHT = time()


@dataclass(frozen=True)
class Due:
    """When a limit runs out. `provisional`: an estimated (unpublished) day was used to compute it."""

    at: datetime
    provisional: bool


def _official_known(year: int) -> bool:
    try:
        chinese_calendar.is_workday(date(year, 1, 1))
    except NotImplementedError:
        return False
    return True


@cache
def _official_year(year: int) -> tuple[bytes, bool]:
    """Working flag per day of the year (index 0 = 1 January) and whether they are an estimate.
    Static data, so cached for the process; overrides are applied per calendar on top."""
    first = date(year, 1, 1)
    days = [first + timedelta(days=i) for i in range((date(year + 1, 1, 1) - first).days)]
    if _official_known(year):
        return bytes(chinese_calendar.is_workday(d) for d in days), False
    estimated = holidays.country_holidays("CN", years=year)
    return bytes(d.weekday() < 5 and d not in estimated for d in days), True


@cache
def _weekdays(year: int) -> bytes:
    """Monday to Friday working, by day of the year: an imported year before its overrides."""
    first = date(year, 1, 1)
    return bytes((first + timedelta(days=i)).weekday() < 5 for i in range((date(year + 1, 1, 1) - first).days))


@dataclass(frozen=True)
class _Year:
    first: date
    work: bytes  # 1 = working day, by day of the year
    worked: list[int]  # worked[i] = working days among the year's first i days (prefix sums, len n+1)
    estimated: list[int]  # same, counting provisional days


def _check_aware(*instants: datetime) -> None:
    for at in instants:
        if at.tzinfo is None or at.utcoffset() is None:
            raise ValueError(f"naive datetime {at!r}: deadlines need timezone-aware instants")


def _midnight(day: date) -> datetime:
    return datetime.combine(day, _MIDNIGHT, CHINA_TZ)


class WorkCalendar:
    """China's working days with a local override table on top.

    Build one from `await load_overrides(session)`; it caches one table per year it is asked about,
    so `add` jumps over whole days and years with prefix sums instead of walking the clock.
    """

    def __init__(
        self,
        overrides: Mapping[date, bool] | None = None,
        logger: logging.Logger | None = None,
        published_years: Iterable[int] = (),
    ) -> None:
        self._log = logger or logging.getLogger("cases.calendar")
        self._overrides: dict[int, dict[date, bool]] = {}
        for day, working in (overrides or {}).items():
            self._overrides.setdefault(day.year, {})[day] = bool(working)
        self._published = frozenset(published_years)
        self._years: dict[int, _Year] = {}

    @property
    def signature(self) -> tuple[frozenset[tuple[date, bool]], frozenset[int]]:
        """What this calendar knows beyond the package: two calendars with equal signatures time alike."""
        days = frozenset((d, w) for year in self._overrides.values() for d, w in year.items())
        return days, self._published

    def published(self, year: int) -> bool:
        """Whether the year's official calendar is known (the package's, or imported)."""
        return year in self._published or _official_known(year)

    # -- days ---------------------------------------------------------------------------------

    def _year(self, year: int) -> _Year:
        table = self._years.get(year)
        if table is None:
            official, provisional = _official_year(year)
            if provisional and year in self._published:
                official, provisional = _weekdays(year), False
            first = date(year, 1, 1)
            work = bytearray(official)
            estimated = bytearray([provisional]) * len(work)
            for day, working in self._overrides.get(year, {}).items():
                i = (day - first).days
                work[i], estimated[i] = working, False
            if provisional:
                self._log.info(
                    "workday calendar: %s is not published in chinese-calendar (known through %s); "
                    "estimating it from weekends and the holidays package, deadlines over it are provisional",
                    year,
                    self.known_through(),
                )
            table = _Year(first, bytes(work), list(accumulate(work, initial=0)), list(accumulate(estimated, initial=0)))
            self._years[year] = table
        return table

    def is_workday(self, d: date) -> tuple[bool, bool]:
        """(working?, provisional?) for a calendar day in China."""
        if isinstance(d, datetime):
            d = d.astimezone(CHINA_TZ).date() if d.tzinfo else d.date()
        table = self._year(d.year)
        i = (d - table.first).days
        return bool(table.work[i]), table.estimated[i + 1] != table.estimated[i]

    def _count(self, start: date, end: date) -> int:
        """Working days in [start, end)."""
        worked = 0
        while start < end:
            table = self._year(start.year)
            stop = min(end, date(start.year + 1, 1, 1))
            i, j = (start - table.first).days, (stop - table.first).days
            worked += table.worked[j] - table.worked[i]
            start = stop
        return worked

    def _nth_workday_after(self, day: date, k: int) -> tuple[date, bool]:
        """The k-th (k >= 1) working day strictly after `day`, and whether any day in between
        (itself included) was an estimate."""
        start = day + DAY
        estimated = 0
        while True:
            table = self._year(start.year)
            i, n = (start - table.first).days, len(table.work)
            available = table.worked[n] - table.worked[i]
            if k <= available:
                j = bisect_left(table.worked, table.worked[i] + k, lo=i + 1) - 1
                estimated += table.estimated[j + 1] - table.estimated[i]
                return table.first + timedelta(days=j), estimated > 0
            k -= available
            estimated += table.estimated[n] - table.estimated[i]
            start = date(start.year + 1, 1, 1)

    # -- instants -----------------------------------------------------------------------------

    def add(self, start: datetime, limit: timedelta, mode: CalendarMode) -> Due:
        """When `limit` of (working or wall-clock) time after `start` runs out, in UTC."""
        _check_aware(start)
        if limit < _ZERO:
            raise ValueError(f"negative limit {limit}")
        if mode == "natural":
            return Due(start.astimezone(UTC) + limit, False)
        if mode != "workday":
            raise ValueError(f"unknown calendar mode {mode!r}")
        if limit == _ZERO:
            return Due(start.astimezone(UTC), False)
        local = start.astimezone(CHINA_TZ)
        day = local.date()
        working, provisional = self.is_workday(day)
        if working:
            left = _midnight(day) + DAY - local
            if limit <= left:
                return Due(start.astimezone(UTC) + limit, provisional)
            limit -= left
        # `limit` (> 0) more working time after `day`: q whole working days, then r of the next one.
        q, r = divmod(limit, DAY)
        if not r:
            q, r = q - 1, DAY
        last, later_provisional = self._nth_workday_after(day, q + 1)
        return Due((_midnight(last) + r).astimezone(UTC), provisional or later_provisional)

    def elapsed(self, start: datetime, end: datetime, mode: CalendarMode) -> timedelta:
        """Working (or wall-clock) time between two instants; negative when `end` is before `start`."""
        _check_aware(start, end)
        if mode == "natural":
            return end - start
        if mode != "workday":
            raise ValueError(f"unknown calendar mode {mode!r}")
        if end < start:
            return -self.elapsed(end, start, mode)
        ls, le = start.astimezone(CHINA_TZ), end.astimezone(CHINA_TZ)
        ds, de = ls.date(), le.date()
        if ds == de:
            return le - ls if self.is_workday(ds)[0] else _ZERO
        head = _midnight(ds) + DAY - ls if self.is_workday(ds)[0] else _ZERO
        tail = le - _midnight(de) if self.is_workday(de)[0] else _ZERO
        return head + self._count(ds + DAY, de) * DAY + tail

    # -- how far the official calendar reaches ------------------------------------------------

    def known_through(self) -> date | None:
        """The last day `chinese-calendar` knows officially (31 December of its last published year)."""
        try:
            year = max(chinese_calendar.holidays).year
        except (AttributeError, TypeError, ValueError):
            return None
        while year > 1900 and not _official_known(year):
            year -= 1
        return date(year, 12, 31) if _official_known(year) else None

    def warn_if_next_year_unknown(self, today: date) -> bool:
        """Log a loud WARNING and return True when today is in the fourth quarter and next year's
        official holidays are not known yet (or when even this year's are not). Call it daily."""
        if not self.published(today.year):
            missing = today.year
        elif today.month >= 10 and not self.published(today.year + 1):
            missing = today.year + 1
        else:
            return False
        self._log.warning(
            "工作日历缺少 %(y)s 年的法定节假日和调休安排（chinese-calendar 仅到 %(k)s）：跨入 %(y)s 年的"
            "工作日时限只能按周末和估算的节假日计算，并标记为临时（provisional）。请升级 chinese-calendar，"
            "或按国务院办公厅的通知在 cases.calendar_overrides 中录入。 / "
            "WORKDAY CALENDAR: China's official %(y)s holidays and make-up working days are not known "
            "(chinese-calendar knows through %(k)s). Workday deadlines reaching into %(y)s are estimated "
            "from weekends and the holidays package and marked provisional. Upgrade chinese-calendar or "
            "enter the State Council's schedule into cases.calendar_overrides.",
            {"y": missing, "k": self.known_through()},
        )
        return True
