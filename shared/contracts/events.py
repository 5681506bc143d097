"""Event types and payloads exchanged through the outbox → relay → inbox path."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

REPORT_SUBMITTED = "report.submitted"
FOLLOWUP_SUBMITTED = "followup.submitted"
REPORT_STATUS = "report.status"
DEVICE_REVOKED = "device.revoked"
DIRECTORY_CHANGED = "directory.changed"
DEVICE_MESSAGE = "device.message"
TASK_ASSIGNED = "task.assigned"
TASK_CANCELLED = "task.cancelled"  # cases withdrew a worker's task: the phone drops it
PATROLS_COUNTED = "patrols.counted"  # intake → cases: patrol reports of one push, per worker, grid and day

# What cases tells notify (rules there decide who hears of it, through which channel).
NOTIFY_EVENT_TYPES = (
    "case.received",
    "case.major",
    "case.grade",
    "case.assign",
    "case.contact",
    "case.whistle",
    "case.suspend",
    "case.resume",
    "case.extend",
    "case.escalated",
    "case.update",
    "case.resolve",
    "case.reply",
    "case.defer",
    "case.revisit",
    "case.close",
    "case.merge",
    "case.reject",
    "case.reopen",
    "case.reopened",
    "whistle.created",
    "whistle.acknowledged",
    "whistle.progress",
    "whistle.done",
    "whistle.returned",
    "whistle.cancelled",
    "deadline.warning",
    "deadline.breached",
    "deadline.reminded",
    "notice.issued",
    "notice.answered",
    "notice.closed",
    "task.assigned",
)


class CaseEventPeople(BaseModel):
    """Keys every case.*, whistle.*, deadline.*, notice.* event to notify carries besides the case's own
    (case_id, case_number, state, area, tier, level, responsible_unit …): whom notify may reach."""

    responsible_person: str | None = None  # username of the 包保责任人, when one is named
    reporters: list[str] = Field(default_factory=list)  # usernames of the grid workers of every report, deduplicated


CASE_MAKING_KINDS = ("dispute", "hazard", "request", "security")
REPORT_KINDS = (*CASE_MAKING_KINDS, "patrol", "followup")

# The risk-flag vocabulary of a report (DOMAIN.md "What comes in"): phones send them, grading reads them.
RISK_FLAGS = (
    "violence_threat",  # 暴力倾向
    "weapons",  # 凶器
    "civil_to_criminal",  # 民转刑风险
    "mental_illness",  # 精神障碍
    "minors_at_risk",
    "elderly_at_risk",
    "group_gathering",  # 聚集
    "repeated_petition",  # 重复信访
    "online_opinion",  # 网络舆情
)


class PartyWire(BaseModel):
    """A party as it travels between services: PII encrypted with the shared PII key, plus keyed hashes."""

    name: str | None = None
    role: str | None = None
    relation: str | None = None
    id_number_enc: str | None = None
    id_number_hash: str | None = None
    phone_enc: str | None = None
    phone_hash: str | None = None


class ReportSubmitted(BaseModel):
    report_id: str
    report_no: str
    worker_id: str
    device_id: str
    kind: str
    category: str | None = None
    title: str | None = None
    description: str | None = None
    grid: str | None = None
    location: dict[str, Any] | None = None
    occurred_at: str | None = None
    captured_at: str | None = None
    received_at: str
    parties: list[PartyWire] = Field(default_factory=list)
    people_involved: int | None = None
    amount_cny: str | None = None
    flags: list[str] = Field(default_factory=list)
    attachments: list[str] = Field(default_factory=list)


class ReportStatus(BaseModel):
    worker_id: str
    report_id: str
    report_no: str | None = None
    case_id: str | None = None
    case_number: str | None = None
    state: str
    level: str | None = None
    reply: str | None = None


class TaskCancelled(BaseModel):
    task_id: str
    worker_id: str
    kind: str | None = None
    case_id: str | None = None
    case_number: str | None = None
    reason: str | None = None


class DeviceRevoked(BaseModel):
    device_id: str
    worker_id: str | None = None
    revoked_at: str


class AreaWire(BaseModel):
    code: str
    name: str
    level: str
    parent_code: str | None = None
    path: list[str]


class DepartmentWire(BaseModel):
    code: str
    name: str
    kind: str | None = None
    area_code: str | None = None


class CategoryWire(BaseModel):
    """A live dispute category: its code and zh-CN name."""

    code: str
    name: str


class WorkerWire(BaseModel):
    """A grid worker and the areas they are bound to (the `sub` of their tokens and their `areas`)."""

    worker_id: str
    areas: list[str] = Field(default_factory=list)


class DirectoryChanged(BaseModel):
    """The whole live directory: a consumer's copy becomes exactly this (what it lacks was retired).
    `workers` is None in events from before it was added: then nothing is said about the workers."""

    areas: list[AreaWire]
    departments: list[DepartmentWire]
    workers: list[WorkerWire] | None = None
    categories: list[CategoryWire] | None = None  # None in events from before it was added: nothing said
