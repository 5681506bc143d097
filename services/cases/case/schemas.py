"""Wire models of the case reads, and the timeline entry other domains hand to the case domain."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.contracts.events import RISK_FLAGS
from shared.contracts.reports import Location, Party, refuse_unstorable

DESK_CHANNELS = ("visit", "phone", "letter", "hotline_12345", "online")
DeskChannel = Literal["visit", "phone", "letter", "hotline_12345", "online"]
DeskKind = Literal["dispute", "hazard", "request", "security"]


class PartyOut(BaseModel):
    name: str | None
    id_number: str | None
    phone: str | None
    role: str | None
    relation: str | None = None


class RevealRequest(BaseModel):
    """Why the parties are looked at (POST /v1/cases/{id}/parties/reveal): kept in the audit log."""

    reason: str | None = Field(
        default=None, max_length=500, description="事由，如：电话联系当事人核实情况（必填，记入审计日志）"
    )


class PartiesRevealed(BaseModel):
    """The parties unmasked (POST /v1/cases/{id}/parties/reveal); the look is on the timeline and in
    the audit log."""

    case_id: str
    case_number: str
    parties: list[PartyOut]


class ReportRef(BaseModel):
    id: str
    report_no: str
    received_at: datetime


class RelatedCase(BaseModel):
    """Another case that shares a party with this one (matched by the keyed hash of an ID number or a
    phone, never by name), within the caller's scope."""

    id: str
    number: str
    state: str
    level: str | None


class CaseSummary(BaseModel):
    id: str
    number: str
    state: str
    kind: str
    category: str | None
    title: str | None
    area: str
    tier: str | None
    level: str | None
    handling: list[str] = Field(
        default_factory=list, description="the handling centres' area codes (承办中心; two when handled jointly)"
    )
    created_at: datetime
    updated_at: datetime
    channel: str = "grid"
    external_ref: str | None = None
    related_cases: list[RelatedCase] = []


class CaseOut(CaseSummary):
    description: str | None
    grade: dict[str, Any] | None
    location: dict[str, Any] | None
    occurred_at: datetime | None
    people_involved: int | None
    amount_cny: str | None
    flags: list[str]
    attachments: list[str]
    reports: list[ReportRef]
    parties: list[PartyOut]
    timeline: list[dict[str, Any]]
    grade_history: list[dict[str, Any]] = []
    initial_tier: str | None = None
    responsible: dict[str, Any] | None = None
    resolution: dict[str, Any] | None = None
    reply: str | None = None
    deferral: dict[str, Any] | None = None  # 短期内难以解决: reason, expected_by, at, by
    satisfaction: str | None = None
    merged_into: str | None = None
    allowed_actions: list[str] = []
    deadlines: list[dict[str, Any]] = []
    whistles: list[dict[str, Any]] = []
    notices: list[dict[str, Any]] = []
    documents: list[dict[str, Any]] = []
    registered_by: str | None = None


class CasePage(BaseModel):
    items: list[CaseSummary]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """One line of a case's timeline (`cases.timeline`): who did what, the state before and after, a
    note people read and free-form data. Other domains (the deadline sweep) hand these to
    `services.cases.case.service.add_timeline_entries`."""

    case_id: uuid.UUID
    at: datetime
    actor: str
    action: str
    from_state: str | None
    to_state: str | None
    note: str | None
    data: dict[str, Any] | None = None


# a desk registration's location and parties are a phone item's (shared/contracts/reports.py)
DeskLocation = Location
DeskParty = Party


class DeskCaseIn(BaseModel):
    """POST /v1/cases: a matter brought to the centre itself (来访 · 来电 · 来信 · 12345 · 网上), registered
    by a dispatcher with the same report fields as a phone's item."""

    model_config = ConfigDict(extra="forbid")
    channel: DeskChannel
    external_ref: str | None = Field(
        default=None,
        min_length=1,
        max_length=60,
        pattern=r"^[0-9A-Za-z][0-9A-Za-z_./-]*$",
        description="the 12345 hotline's work-order number (required for hotline_12345)",
    )
    area: str = Field(min_length=1, max_length=40, description="an area code in the dispatcher's scope")
    kind: DeskKind
    category: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_]{0,39}$")
    title: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=5000)
    location: DeskLocation | None = None
    occurred_at: datetime | None = None
    parties: list[DeskParty] = Field(default_factory=list, max_length=50)
    people_involved: int | None = Field(default=None, ge=0, le=1_000_000)
    amount_cny: Decimal | None = Field(default=None, ge=0, le=Decimal("999999999999.99"), decimal_places=2)
    flags: list[str] = Field(default_factory=list, max_length=20, description=f"risk flags: {', '.join(RISK_FLAGS)}")

    _text = field_validator("title", "description", mode="before")(refuse_unstorable)

    @field_validator("flags")
    @classmethod
    def _flags(cls, v: list[str]) -> list[str]:
        unknown = [f for f in v if f not in RISK_FLAGS]
        if unknown:
            raise ValueError(f"未知的风险标记：{', '.join(unknown)}")
        return list(dict.fromkeys(v))

    @field_validator("occurred_at")
    @classmethod
    def _aware(cls, v: datetime | None) -> datetime | None:
        if v is not None and v.tzinfo is None:
            raise ValueError("时间必须带时区（RFC 3339）")
        return v
