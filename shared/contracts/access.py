"""Intake asks cases whether a caller may see the case of some reports (cases knows the whistles)."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, Field

CASE_ACCESS_PATH = "/internal/v1/case-access"


class CaseAccessQuery(BaseModel):
    """The caller as its token says, and the reports in question (any one visible case suffices)."""

    report_ids: list[uuid.UUID] = Field(min_length=1, max_length=100)
    role: str = Field(min_length=1, max_length=40)
    department: str | None = Field(default=None, max_length=40)
    areas: list[str] = Field(default_factory=list, max_length=200)


class CaseAccessAnswer(BaseModel):
    visible: bool
