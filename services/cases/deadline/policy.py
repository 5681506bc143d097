"""The deadline policy file (DOMAIN.md "Policy files"): limits, starts, warnings, the escalation ladder."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from services.cases.calendar import CalendarMode

DEFAULT_POLICY_PATH = Path(__file__).with_name("policy.yaml")
KINDS = (
    "contact",
    "major_report",
    "acknowledge",
    "resolve",
    "reply",
    "first_response",
    "update",
    "revisit",
    "notice_response",
)
STARTS = ("received", "graded", "assigned", "whistled", "resolved", "replied", "notice")
# a notice's response clock runs its own ladder: remind the unit → tell its head → tell the issuer's leader
NOTICE_LADDER = ("remind", "head", "leader")
DEFAULT_NOTICE_RESPONSE: dict[str, Any] = {
    "limit": "1d",
    "start": "notice",
    "calendar": "workday",
    "escalation": [{"after": 0, "do": "remind"}, {"after": 1, "do": "head"}, {"after": 2, "do": "leader"}],
}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> timedelta:
    m = _DURATION.match(str(text))
    if not m:
        raise ValueError(f"时长格式应为 30s、10m、1h、3d，收到 {text!r}")
    return timedelta(seconds=float(m.group(1)) * _UNIT[m.group(2)])


class LadderStep(BaseModel):
    model_config = ConfigDict(extra="forbid")
    after: float = Field(ge=0)
    do: Literal["remind", "notice", "escalate", "head", "leader"]


class KindPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")
    limit: timedelta
    start: Literal["received", "graded", "assigned", "whistled", "resolved", "replied", "notice"]
    when: dict[str, Any] | None = None
    repeat: bool = False
    calendar: Literal["natural", "workday"] | None = None
    escalation: list[LadderStep] | None = None  # this kind's own ladder (else the policy's)

    @field_validator("limit", mode="before")
    @classmethod
    def _limit(cls, v: Any) -> timedelta:
        return v if isinstance(v, timedelta) else parse_duration(v)


class Policy(BaseModel):
    model_config = ConfigDict(extra="forbid")
    calendar: Literal["natural", "workday"] = "natural"
    deadlines: dict[str, KindPolicy]
    warn_at: list[float] = Field(default_factory=lambda: [0.5, 0.8])
    escalation: list[LadderStep] = Field(default_factory=list)

    @field_validator("deadlines")
    @classmethod
    def _kinds(cls, v: dict[str, KindPolicy]) -> dict[str, KindPolicy]:
        unknown = set(v) - set(KINDS)
        if unknown:
            raise ValueError(f"未知的时限种类: {', '.join(sorted(unknown))}")
        for kind, kp in v.items():
            if (kp.start == "notice") != (kind == "notice_response"):
                raise ValueError(f"{kind}: 只有 notice_response 从督办通知书发出时起算（start: notice）")
            if kind == "notice_response" and kp.repeat:
                raise ValueError("notice_response: 答复时限不能重复")
            ladder = [s.do for s in kp.escalation or []]
            if kind == "notice_response" and any(d not in NOTICE_LADDER for d in ladder):
                raise ValueError("notice_response 的升级步骤只能是 remind、head、leader")
            if kind != "notice_response" and any(d in ("head", "leader") for d in ladder):
                raise ValueError(f"{kind}: head、leader 步骤只用于 notice_response")
        return v

    @model_validator(mode="after")
    def _notice_response_default(self) -> Policy:
        """A policy that leaves out notice_response keeps the default (1 workday, its own ladder)."""
        if "notice_response" not in self.deadlines:
            self.deadlines["notice_response"] = KindPolicy.model_validate(DEFAULT_NOTICE_RESPONSE)
        return self

    @field_validator("escalation")
    @classmethod
    def _ladder(cls, v: list[LadderStep]) -> list[LadderStep]:
        if any(s.do in ("head", "leader") for s in v):
            raise ValueError("head、leader 步骤只用于 notice_response 的升级")
        return v

    @field_validator("warn_at")
    @classmethod
    def _fractions(cls, v: list[float]) -> list[float]:
        if any(not 0 < f < 1 for f in v):
            raise ValueError("预警比例必须在 0 与 1 之间")
        return sorted(v)

    def calendar_for(self, kind: str) -> CalendarMode:
        """Hour limits count on the wall clock; day limits follow the policy calendar unless set."""
        kp = self.deadlines[kind]
        if kp.calendar:
            return kp.calendar
        return self.calendar if kp.limit >= timedelta(days=1) else "natural"

    def steps(self, kind: str | None = None) -> list[Step]:
        """The fixed sequence a deadline of `kind` walks: warnings, breach, then its ladder (the kind's own,
        else the policy's)."""
        kp = self.deadlines.get(kind) if kind else None
        ladder = kp.escalation if kp is not None and kp.escalation is not None else self.escalation
        out = [Step("warning", f, None) for f in self.warn_at]
        out.append(Step("breach", 1.0, None))
        out += [Step(s.do, 1.0 + s.after, s.after) for s in ladder]
        return out


@dataclass(frozen=True)
class Step:
    action: str  # warning | breach | remind | notice | escalate
    fraction: float  # of the limit, from the start (ladder: 1 + after)
    after: float | None


def load_policy(path: str | None = None) -> Policy:
    p = Path(path) if path else DEFAULT_POLICY_PATH
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
        return Policy.model_validate(data)
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"时限策略文件 {p} 无法读取: {exc}") from exc
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors(include_url=False))
        raise ValueError(f"时限策略文件 {p} 有误: {problems}") from exc
