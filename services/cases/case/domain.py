"""The policy a cases process runs with: grading rules, the deadline engine (deadline policy +
workday calendar) and the risk policy of persons and households; and how a grade is recorded. The facts
a case is graded on come from its subjects (`subject.service.grading_facts`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from services.cases.deadline.service import DeadlineEngine
from services.cases.grading import Grade, RuleSet
from services.cases.subject.policy import RiskPolicy, load_risk_policy


@dataclass
class CaseDomain:
    rules: RuleSet
    deadlines: DeadlineEngine
    risk: RiskPolicy = field(default_factory=load_risk_policy)  # persons' and households' risk (RISK_POLICY_FILE)


def grade_record(grade: Grade) -> dict[str, Any]:
    return {
        "level": grade.level,
        "score": grade.score,
        "reasons": list(grade.reasons),
        "tier": grade.tier,
        "by": grade.by,
        "inform_county": grade.inform_county,
        "joint_with": grade.joint_with,
    }
