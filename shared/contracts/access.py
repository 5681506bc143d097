"""Intake asks cases whether a caller may see the case of some reports, or one of some cases (a case
document's grants) — cases knows the whistles."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, Field, model_validator

CASE_ACCESS_PATH = "/internal/v1/case-access"


class CaseAccessQuery(BaseModel):
    """The caller as its token says, and the reports or cases in question (any one visible case suffices)."""

    report_ids: list[uuid.UUID] = Field(default_factory=list, max_length=100)
    case_ids: list[uuid.UUID] = Field(default_factory=list, max_length=100)
    role: str = Field(min_length=1, max_length=40)
    department: str | None = Field(default=None, max_length=40)
    areas: list[str] = Field(default_factory=list, max_length=200)

    @model_validator(mode="after")
    def _something_asked(self) -> CaseAccessQuery:
        if not self.report_ids and not self.case_ids:
            raise ValueError("report_ids or case_ids is required")
        return self


class CaseAccessAnswer(BaseModel):
    visible: bool
