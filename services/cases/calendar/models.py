"""The local override table of the workday calendar: a day declared working (True) or off (False)
here wins over chinese-calendar and the estimate, e.g. to enter next year's 调休 schedule as soon as
the State Council publishes it, or a local day off."""

from sqlalchemy import Boolean, Column, Date, DateTime, Integer, Table, Text

from services.cases.db import metadata

calendar_overrides = Table(
    "calendar_overrides",
    metadata,
    Column("day", Date, primary_key=True),
    Column("workday", Boolean, nullable=False),
    Column("note", Text),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# A year whose official calendar an operator imported (国务院办公厅关于节假日安排的通知): its holidays and
# make-up working days are overrides above; every other day of it follows the weekday rule, and no
# deadline over it is provisional any more.
calendar_years = Table(
    "calendar_years",
    metadata,
    Column("year", Integer, primary_key=True, autoincrement=False),
    Column("note", Text),
    Column("imported_at", DateTime(timezone=True), nullable=False),
)
