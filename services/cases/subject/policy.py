"""The risk policy file (RISK_POLICY_FILE): how a person's or household's risk level (风险户: high 高 ·
medium 中 · low 低 · safe 平安户) follows from their cases. Read and checked once at startup; a file
that cannot be used stops the service with a message naming the file and the field."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from services.cases.deadline.policy import parse_duration

DEFAULT_RISK_POLICY_PATH = Path(__file__).with_name("risk_policy.yaml")

Risk = Literal["high", "medium", "low", "safe"]
RaisedRisk = Literal["high", "medium", "low"]
CaseLevel = Literal["ordinary", "complex", "major", "petition_backlog"]
ORDER: tuple[RaisedRisk, ...] = ("high", "medium", "low")


class RiskPolicyError(ValueError):
    """A risk policy file that cannot be used; the message names the file and the field."""


@dataclass(frozen=True)
class CaseCounts:
    """One subject's cases by grade (None: not graded yet): how many in all, how many still open."""

    total: Mapping[str | None, int]
    open: Mapping[str | None, int]


class Condition(BaseModel):
    model_config = ConfigDict(extra="forbid")
    count: Literal["cases", "open"]
    levels: list[CaseLevel] | None = Field(default=None, min_length=1)
    at_least: int = Field(ge=1)

    def holds(self, counts: CaseCounts) -> bool:
        by_level = counts.total if self.count == "cases" else counts.open
        n = sum(v for k, v in by_level.items() if self.levels is None or k in self.levels)
        return n >= self.at_least


class RiskPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")
    levels: dict[RaisedRisk, list[Condition]]
    otherwise: Risk = "safe"
    # scheduled household visits (定期走访) by risk level: every this long a visit task goes to the grid
    # workers who reported the subject's latest case; a level not named gets none
    visits: dict[Risk, timedelta] = Field(default_factory=dict)

    @field_validator("visits", mode="before")
    @classmethod
    def _intervals(cls, v: Any) -> Any:
        if not isinstance(v, dict):
            return v
        out = {k: (d if isinstance(d, timedelta) else parse_duration(d)) for k, d in v.items()}
        if any(d < timedelta(hours=1) for d in out.values()):
            raise ValueError("走访间隔不能短于 1h")
        return out

    def risk_of(self, counts: CaseCounts) -> Risk:
        for risk in ORDER:
            if any(c.holds(counts) for c in self.levels.get(risk, [])):
                return risk
        return self.otherwise


def load_risk_policy(path: str | None = None) -> RiskPolicy:
    p = Path(path) if path else DEFAULT_RISK_POLICY_PATH
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise RiskPolicyError(f"风险等级策略文件 {p} 无法读取: {exc}") from exc
    try:
        return RiskPolicy.model_validate(data if data is not None else {})
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors(include_url=False))
        raise RiskPolicyError(f"风险等级策略文件 {p} 有误: {problems}") from exc
