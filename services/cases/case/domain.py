"""The policy a cases process runs with: grading rules and the deadline engine (deadline policy +
workday calendar); and how a grade is recorded. The facts a case is graded on come from its subjects
(`subject.service.grading_facts`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.cases.deadline.service import DeadlineEngine
from services.cases.grading import Grade, RuleSet


@dataclass
class CaseDomain:
    rules: RuleSet
    deadlines: DeadlineEngine


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
