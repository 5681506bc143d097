"""Wire models of subjects (人员/户)."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel

from shared.paging import Page


class SubjectItem(BaseModel):
    """A person or household with its risk level and the numbers of its cases the caller sees."""

    id: uuid.UUID
    kind: str
    name: str | None
    area: str | None
    risk: str
    case_count: int
    open_cases: int
    cases: list[str]
    updated_at: datetime


class SubjectPage(Page[SubjectItem]):
    """Subjects in the caller's scope, last updated first."""
