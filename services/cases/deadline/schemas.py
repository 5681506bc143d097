"""Wire models of the deadlines' routes: the dashboards' list and the morning digest."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel

from shared.paging import Page


class DeadlineItem(BaseModel):
    """One clock (时限) as a dashboard lists it."""

    id: uuid.UUID
    case_id: uuid.UUID
    case_number: str
    kind: str
    state: str
    due_at: datetime
    met_at: datetime | None
    breached_at: datetime | None
    department: str | None
    calendar: str
    provisional: bool
    paused: bool


class DeadlinePage(Page[DeadlineItem]):
    """Deadlines in the caller's scope, soonest due first."""


class DigestCentre(BaseModel):
    """A township or county centre's morning numbers. overdue: its overdue clocks; overdue_case_count: the
    cases they belong to, of which overdue_cases names at most cases_per_centre."""

    area: str
    name: str
    level: str
    overdue: int
    overdue_case_count: int
    due_today: int
    overdue_cases: list[str]


class Digest(BaseModel):
    """What each centre must know in the morning (China date)."""

    date: str
    centres: list[DigestCentre]
