"""The workday calendar (工作日历): clock arithmetic for deadlines (时限) over China's working days,
with a local override table."""

from services.cases.calendar.calendar import DAY, CalendarMode, Due, WorkCalendar
from services.cases.calendar.models import calendar_overrides
from services.cases.calendar.repository import delete_override, load_overrides, set_override

__all__ = [
    "DAY",
    "CalendarMode",
    "Due",
    "WorkCalendar",
    "calendar_overrides",
    "delete_override",
    "load_overrides",
    "set_override",
]
