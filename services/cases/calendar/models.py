"""The local override table of the workday calendar: a day declared working (True) or off (False)
here wins over chinese-calendar and the estimate, e.g. to enter next year's 调休 schedule as soon as
the State Council publishes it, or a local day off."""

from sqlalchemy import Boolean, Column, Date, DateTime, Table, Text

from services.cases.db import metadata

calendar_overrides = Table(
    "calendar_overrides",
    metadata,
    Column("day", Date, primary_key=True),
    Column("workday", Boolean, nullable=False),
    Column("note", Text),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
