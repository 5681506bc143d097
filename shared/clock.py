"""The one clock. Every piece of code asks `clock.now()`; tests swap in a ManualClock and move it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

UTC = UTC
CHINA_TZ = ZoneInfo("Asia/Shanghai")


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that only moves when told to (tests)."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = (start or datetime.now(UTC)).astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, **delta: float) -> datetime:
        self._now += timedelta(**delta)
        return self._now

    def set(self, when: datetime) -> None:
        self._now = when.astimezone(UTC)


class _ClockHolder:
    def __init__(self) -> None:
        self._clock: Clock = SystemClock()

    def now(self) -> datetime:
        return self._clock.now()

    def use(self, new: Clock) -> None:
        self._clock = new

    def reset(self) -> None:
        self._clock = SystemClock()


clock = _ClockHolder()


def china_date_str(when: datetime) -> str:
    """YYYYMMDD of the instant in China time, as used in report and case numbers."""
    return when.astimezone(CHINA_TZ).strftime("%Y%m%d")
