"""Wire models of notices (督办通知书 / 风险预警通知书)."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

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


class NoticePage(Page[NoticeOut]):
    """Notices in the caller's scope, newest first."""


class NoticeAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid")
    answer: str = Field(min_length=1, max_length=4000)


class NoticeClose(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str | None = Field(default=None, max_length=2000)
