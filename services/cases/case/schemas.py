"""Wire models of the case reads, and the timeline entry other domains hand to the case domain."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


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
    satisfaction: str | None = None
    merged_into: str | None = None
    allowed_actions: list[str] = []
    deadlines: list[dict[str, Any]] = []
    whistles: list[dict[str, Any]] = []
    notices: list[dict[str, Any]] = []


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
