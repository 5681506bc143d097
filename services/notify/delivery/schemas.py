"""Bodies of the operators' delivery routes."""
from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field


class DeliveryOut(BaseModel):
    id: uuid.UUID
    notification_id: uuid.UUID
    channel: str = Field(description="webhook | sms | phone | inbox")
    recipient: str
    target: str | None = Field(description="department code (webhook), masked phone (sms), worker id (phone)")
    message_id: str = Field(description="the webhook-id, the same in every attempt")
    event_type: str | None = Field(description="type of the webhook body, when there is one")
    state: str = Field(description="pending | delivered | failed | dead")
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    last_status: int | None
    created_at: datetime
    delivered_at: datetime | None
    event_at: datetime | None


class DeliveryPage(BaseModel):
    items: list[DeliveryOut]
    next_cursor: str | None
