"""The policy a cases process runs with: grading rules and the deadline engine (deadline policy +
workday calendar); and the facts the rules grade a case on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.cases.case.models import CaseRow
from services.cases.deadline.service import DeadlineEngine
from services.cases.grading import Grade, GradingFacts, RuleSet
from services.cases.subject import service as subjects

TIER_UP = {"village": "township", "township": "county", "county": "county"}


@dataclass
class CaseDomain:
    rules: RuleSet
    deadlines: DeadlineEngine


async def facts_for(session: AsyncSession, case: CaseRow, departments_needed: int = 0) -> GradingFacts:
    subject_ids = await subjects.of_case(session, case.id)
    prior, open_ = await subjects.history(session, subject_ids, case.id)
    return GradingFacts(
        kind=case.kind,
        category=case.category,
        flags=list(case.flags or []),
        people_involved=case.people_involved,
        amount_cny=case.amount_cny,
        party_prior_cases=prior,
        party_open_cases=open_,
        party_villages=await subjects.party_villages(session, case.id),
        departments_needed=departments_needed,
    )


def grade_record(grade: Grade) -> dict[str, Any]:
    return {
        "level": grade.level,
        "score": grade.score,
        "reasons": list(grade.reasons),
        "tier": grade.tier,
        "by": grade.by,
        "inform_county": grade.inform_county,
    }
