"""Wire models of the stats endpoints (API.md "Stats"): every rate carries its numerator and denominator."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

# the clocks an on-time rate is given for (DOMAIN.md "Evaluation"), in the order a leader reads them
ON_TIME_KINDS = ("contact", "major_report", "acknowledge", "resolve", "reply", "first_response", "update", "revisit")


class Rate(BaseModel):
    num: int
    den: int
    rate: float | None = Field(description="num / den rounded to 4 places; null when den is 0")

    @classmethod
    def of(cls, num: int, den: int) -> Rate:
        return cls(num=num, den=den, rate=round(num / den, 4) if den else None)


class CaseCounts(BaseModel):
    total: int
    open: int
    by_state: dict[str, int]
    by_level: dict[str, int]
    by_tier: dict[str, int]
    by_kind: dict[str, int]
    by_category: dict[str, int]
    by_channel: dict[str, int]


class Patrols(BaseModel):
    today: int = Field(description="patrol reports (巡查日志) today, China time")
    workers_with_two_today: int = Field(description="grid workers with two or more patrols today (一日双巡)")
    workers: int = Field(description="active grid workers bound to a grid in the area")


class Overview(BaseModel):
    area: str
    as_of: datetime
    cases: CaseCounts
    overdue_now: int = Field(description="clocks past due and still owed")
    due_24h: int = Field(description="pending clocks falling due within 24 hours")
    patrols: Patrols


class SlaGroup(BaseModel):
    key: str
    name: str
    cases: int = Field(description="cases received in the period")
    on_time: dict[str, Rate]
    resolution_rate: Rate
    mediation_success_rate: Rate
    satisfaction_rate: Rate
    kept_at_tier_rate: Rate


class SlaOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    group_by: str
    area: str | None
    from_: date = Field(serialization_alias="from", validation_alias="from")
    to: date
    as_of: datetime
    groups: list[SlaGroup]


class MediatorSubsidy(BaseModel):
    code: str
    name: str
    area: str
    cases: dict[str, int]
    amount_cny: str


class SubsidiesOut(BaseModel):
    month: str
    area: str | None
    policy: dict[str, str]
    mediators: list[MediatorSubsidy]
    total_cny: str


class TrendDay(BaseModel):
    day: date
    received: int
    closed: int
    on_time: Rate


class TrendOut(BaseModel):
    area: str
    as_of: datetime
    days: list[TrendDay]
