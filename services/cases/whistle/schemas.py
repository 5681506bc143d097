"""Wire models of the department side of 吹哨报到: the bodies of its moves, its whistle items."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field

from shared.paging import Page


class WhistleNote(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str | None = Field(default=None, max_length=2000)


class WhistleReturn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=1000, description="e.g. 非本部门职责")


class WhistleOut(BaseModel):
    """A whistle item (吹哨事项): one department called on for one case."""

    id: str
    case_id: str
    case_number: str | None = None
    title: str | None = None
    department: str
    role: str
    state: str
    reason: str | None
    created_at: datetime
    acknowledged_at: datetime | None
    done_at: datetime | None
    returned_at: datetime | None
    return_reason: str | None

    @classmethod
    def of(cls, w: Any, **more: Any) -> Self:
        """From a `cases.whistles` row (with the case's number and title when the read joined them)."""
        return cls(
            id=str(w.id),
            case_id=str(w.case_id),
            case_number=getattr(w, "case_number", None),
            title=getattr(w, "title", None),
            department=w.department_code,
            role=w.role,
            state=w.state,
            reason=w.reason,
            created_at=w.created_at,
            acknowledged_at=w.acknowledged_at,
            done_at=w.done_at,
            returned_at=w.returned_at,
            return_reason=w.return_reason,
            **more,
        )


class DeadlineBrief(BaseModel):
    """One of the clocks a department answers for on a whistle item."""

    id: str
    kind: str
    state: str
    due_at: datetime
    met_at: datetime | None
    breached_at: datetime | None
    paused: bool


class WhistleItem(WhistleOut):
    """A department's whistle item with its clocks (GET /v1/whistles)."""

    deadlines: list[DeadlineBrief]


class WhistlePage(Page[WhistleItem]):
    pass
