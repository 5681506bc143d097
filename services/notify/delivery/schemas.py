"""Bodies of the operators' delivery routes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class DeliveryOut(BaseModel):
    id: uuid.UUID
    notification_id: uuid.UUID
    channel: str = Field(description="webhook | sms | phone | inbox")
    recipient: str
    target: str | None = Field(description="department code (webhook), masked phone (sms), worker id (phone)")
    message_id: str = Field(description="the webhook-id, the same in every attempt")
    event_type: str | None = Field(description="type of the webhook body, when there is one")
    state: str = Field(
        description="pending | delivered | failed | dead | skipped (not sent, see last_error: no endpoint, SMS cap) | "
        "handed_off (phone message handed to intake's feed; the phone fetches it from there)"
    )
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


class RetryFilter(BaseModel):
    """Which deliveries to send again at once (all conditions hold)."""

    model_config = ConfigDict(extra="forbid")
    status: list[Literal["failed", "dead", "skipped"]] = Field(default=["failed", "dead"], min_length=1)
    channel: Literal["webhook", "sms"] | None = None
    department: str | None = Field(
        default=None, min_length=1, max_length=40, description="webhook deliveries to this department only"
    )
    since: AwareDatetime | None = Field(default=None, description="made at or after this instant (with its time zone)")


class RetryResult(BaseModel):
    requeued: int = Field(description="deliveries made due now")
