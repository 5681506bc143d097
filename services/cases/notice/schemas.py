"""Wire models of notices (督办通知书 / 风险预警通知书)."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.paging import Page


class NoticeOut(BaseModel):
    id: uuid.UUID
    number: str
    kind: str
    state: str
    case_id: uuid.UUID | None
    deadline_id: uuid.UUID | None
    area: str
    unit: str
    subject: str
    body: str
    issued_at: datetime
    respond_by: datetime | None
    answer: str | None
    answered_at: datetime | None
    answered_by: str | None
    closed_at: datetime | None
    closed_by: str | None
    issued_by: str | None = None
    reason: str | None = None


class NoticePage(Page[NoticeOut]):
    """Notices in the caller's scope, newest first."""


class NoticeAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid")
    answer: str = Field(min_length=1, max_length=4000)


class NoticeClose(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str | None = Field(default=None, max_length=2000)


MAX_RESPONSE_SECONDS = 30 * 86400  # a notice asks for an answer within a month at most


class NoticeIssue(BaseModel):
    """领导督办: a supervision notice issued by hand (POST /v1/notices)."""

    model_config = ConfigDict(extra="forbid")
    case_id: uuid.UUID
    unit: str = Field(
        min_length=1, max_length=60, description="the unit that must answer: a department code or an area code"
    )
    reason: str = Field(min_length=1, max_length=1000)
    respond_within: str | None = Field(
        default=None,
        pattern=r"^\d+(\.\d+)?[smhd]$",
        description="e.g. 1d (default: the deadline policy's notice_response limit, 1 workday)",
    )

    @field_validator("respond_within")
    @classmethod
    def _sane(cls, v: str | None) -> str | None:
        if v is not None:
            seconds = float(v[:-1]) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[v[-1]]
            if not 0 < seconds <= MAX_RESPONSE_SECONDS:
                raise ValueError("答复时限须大于 0 且不超过 30 天")
        return v
