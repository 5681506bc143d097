"""Wire models of the in-app messages (站内消息)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from shared.paging import Page


class NotificationOut(BaseModel):
    id: uuid.UUID
    event_type: str
    title: str
    body: str
    case_id: str | None
    created_at: datetime
    read_at: datetime | None
    status: Literal["unread", "read"]


class NotificationPage(Page[NotificationOut]):
    unread: int = Field(description="the inbox's unread messages in all (not only this page's)")
