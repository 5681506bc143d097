"""Why a calendar import is refused: nothing of it is stored."""

from __future__ import annotations

from shared.errors import FieldError


class DayOutsideYear(FieldError):
    code = "day_outside_year"
    title = "日期不在导入的年份内"
    error_type = "wrong_year"


class DayRepeated(FieldError):
    code = "day_repeated"
    title = "同一日期出现多次"
    error_type = "duplicate"
