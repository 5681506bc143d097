"""Push and pull bodies of the phone sync API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from services.intake.report.schemas import ReportItem, refuse_unstorable


class PushRequest(BaseModel):
    """Items are validated one by one so that one bad item rejects only itself; the item shape is
    `ReportItem`."""

    device_id: str = Field(min_length=1, max_length=100)
    items: list[dict[str, Any]] = Field(
        description="each item is a ReportItem (see components.schemas.ReportItem); at most `push_max_items` (500)"
        " per push, more is 413"
    )

    _storable = field_validator("device_id", mode="before")(refuse_unstorable)


class FieldError(BaseModel):
    loc: list[Any]
    msg: str
    type: str


class PushResult(BaseModel):
    id: str | None
    status: Literal["accepted", "duplicate", "conflict", "rejected"]
    report_no: str | None = None
    detail: str | None = None
    errors: list[FieldError] | None = None
    missing_attachments: list[str] | None = None


class PushResponse(BaseModel):
    results: list[PushResult]
    server_time: datetime
    clock_offset_ms: int | None = None


class Change(BaseModel):
    seq: int
    type: Literal["report.status", "task", "message", "reference"]
    data: dict[str, Any]


class PullResponse(BaseModel):
    changes: list[Change]
    cursor: str
    has_more: bool
    server_time: datetime
    snapshot: bool = False


# Keep ReportItem in the OpenAPI components for clients generated from the document.
__all__ = ["Change", "PullResponse", "PushRequest", "PushResponse", "PushResult", "ReportItem"]
