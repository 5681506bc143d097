"""Bodies of the case actions (POST /v1/cases/{id}/{action})."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Level = Literal["ordinary", "complex", "major", "petition_backlog"]
Tier = Literal["village", "township", "county"]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str | None = Field(default=None, max_length=2000)


class GradeBody(_Body):
    """No level/tier: re-run the rules. With level or tier: a dispatcher's override, reason required."""

    level: Level | None = None
    tier: Tier | None = None
    reason: str | None = Field(default=None, min_length=2, max_length=500)

    @model_validator(mode="after")
    def _override_needs_reason(self) -> GradeBody:
        if (self.level or self.tier) and not self.reason:
            raise ValueError("人工调整分级须说明理由 reason")
        return self


class AssignBody(_Body):
    unit: str = Field(min_length=1, max_length=60, description="responsible unit: a department code or an area code")
    person: str | None = Field(default=None, max_length=60, description="包保责任人")


class ContactBody(_Body):
    note: str = Field(min_length=1, max_length=2000)


class WhistleTarget(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(min_length=1, max_length=40)
    role: Literal["lead", "assist"]


class WhistleBody(_Body):
    departments: list[WhistleTarget] = Field(min_length=1, max_length=20)
    reason: str = Field(min_length=1, max_length=1000)

    @model_validator(mode="after")
    def _one_lead(self) -> WhistleBody:
        codes = [d.code for d in self.departments]
        if len(set(codes)) != len(codes):
            raise ValueError("同一部门不能重复吹哨")
        if sum(1 for d in self.departments if d.role == "lead") > 1:
            raise ValueError("只能有一个牵头部门")
        return self


class ReasonBody(_Body):
    reason: str = Field(min_length=1, max_length=1000)


MAX_EXTENSION = timedelta(days=366)  # one approved extension moves a deadline by at most a year


class ExtendBody(_Body):
    deadline_id: uuid.UUID
    due_at: datetime | None = None
    by: str | None = Field(default=None, pattern=r"^\d+(\.\d+)?[smhd]$", description="e.g. 2d")
    reason: str = Field(min_length=1, max_length=1000)
    approver: str = Field(min_length=1, max_length=60)

    @field_validator("by")
    @classmethod
    def _sane_by(cls, v: str | None) -> str | None:
        if v is not None:
            unit = {"s": 1, "m": 60, "h": 3600, "d": 86400}[v[-1]]
            if not 0 < float(v[:-1]) * unit <= MAX_EXTENSION.total_seconds():
                raise ValueError(f"延期时长须大于 0 且不超过 {MAX_EXTENSION.days} 天")
        return v

    @field_validator("due_at")
    @classmethod
    def _sane_due(cls, v: datetime | None) -> datetime | None:
        if v is not None and not 2000 <= v.year <= 2999:
            raise ValueError("due_at 超出合理范围")
        return v

    @model_validator(mode="after")
    def _one_of(self) -> ExtendBody:
        if (self.due_at is None) == (self.by is None):
            raise ValueError("须且只能给出 due_at 或 by 之一")
        if self.due_at is not None and self.due_at.tzinfo is None:
            raise ValueError("due_at 必须带时区")
        return self


class UpdateBody(_Body):
    note: str = Field(min_length=1, max_length=2000)
    kind: Literal["progress", "major_report"] = "progress"


class ResolveBody(_Body):
    outcome: Literal[
        "mediated", "mediation_failed", "judicial_confirmation", "litigation", "administrative", "withdrawn", "referred"
    ]
    mediator: str | None = Field(default=None, max_length=60)
    mediators: list[str] = Field(
        default_factory=list,
        max_length=10,
        description="codes of the settling mediators in the register (以案计补: a shared case is split evenly)",
    )

    @field_validator("mediators")
    @classmethod
    def _distinct(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError("同一调解员不能重复")
        return v


class DeferBody(_Body):
    """短期内难以解决: why the matter cannot be solved soon and by when it is expected to be; the reply clock
    starts now (DOMAIN.md: reply within 1 day of it becoming clear)."""

    reason: str = Field(min_length=1, max_length=1000)
    expected_by: date = Field(description="the day by which the matter is expected to be solved (China time)")


class ReplyBody(_Body):
    text: str = Field(min_length=1, max_length=2000)


class RevisitBody(_Body):
    satisfaction: Literal["satisfied", "basically_satisfied", "dissatisfied"]


class MergeBody(_Body):
    into: uuid.UUID
    reason: str = Field(min_length=1, max_length=1000)


class EmptyBody(_Body):
    pass


BODIES: dict[str, type[BaseModel]] = {
    "grade": GradeBody,
    "assign": AssignBody,
    "contact": ContactBody,
    "whistle": WhistleBody,
    "suspend": ReasonBody,
    "resume": EmptyBody,
    "extend": ExtendBody,
    "escalate": ReasonBody,
    "update": UpdateBody,
    "resolve": ResolveBody,
    "reply": ReplyBody,
    "defer": DeferBody,
    "revisit": RevisitBody,
    "close": EmptyBody,
    "merge": MergeBody,
    "reject": ReasonBody,
    "reopen": ReasonBody,
}
