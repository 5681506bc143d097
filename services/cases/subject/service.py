"""Subjects (人员/户): the persons and households of the cases, matched across reports, with their risk;
the 风险预警通知书 when someone becomes high-risk; the list of them for the dashboards."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.cases.case import effects
from services.cases.case.models import CaseRow
from services.cases.grading import GradingFacts
from services.cases.notice import service as notices
from services.cases.subject import repository as repo
from services.cases.subject.policy import CaseCounts, RiskPolicy
from services.cases.subject.repository import Party
from services.cases.subject.schemas import SubjectItem, SubjectPage
from shared.paging import decode_cursor, encode_cursor


@dataclass(frozen=True)
class RiskChange:
    """A subject whose risk was recomputed: before and after, and its case count now."""

    id: uuid.UUID
    name: str | None
    area_code: str | None
    case_count: int
    was: str
    risk: str


async def recompute_risk(
    session: AsyncSession, subject_ids: list[uuid.UUID], now: datetime, policy: RiskPolicy
) -> list[RiskChange]:
    """The subjects' risk from their cases by the risk policy (RISK_POLICY_FILE), written set-wise, in the
    order of `subject_ids`; the subjects stay locked until the caller's transaction ends."""
    found = await repo.case_counts(session, subject_ids)
    order = {sid: i for i, sid in reversed(list(enumerate(subject_ids)))}
    changes: list[RiskChange] = []
    for row, by_level in sorted(found.values(), key=lambda f: order.get(f[0].id, 0)):
        counts = CaseCounts(
            total={level: total for level, total, _ in by_level}, open={level: open_ for level, _, open_ in by_level}
        )
        changes.append(
            RiskChange(
                row.id,
                row.name,
                row.area_code,
                sum(counts.total.values()),
                row.risk,
                policy.risk_of(counts),
            )
        )
    await repo.set_risk(
        session,
        [
            {
                "id": c.id,
                "risk": c.risk,
                "total": c.case_count,
                "open": sum(v for _, _, v in found[c.id][1]),
                "next_visit_at": next_visit(policy, c, found[c.id][0].next_visit_at, now),
            }
            for c in changes
        ],
        now,
    )
    return changes


def next_visit(policy: RiskPolicy, change: RiskChange, scheduled: datetime | None, now: datetime) -> datetime | None:
    """When the subject's next household visit falls: none at a level without visits; the first one at once
    on reaching a level with visits; otherwise as scheduled."""
    if change.risk not in policy.visits:
        return None
    if scheduled is None or change.was not in policy.visits:
        return now
    return scheduled


async def refresh_risk(
    session: AsyncSession, case: Any, subject_ids: list[uuid.UUID], now: datetime, *, policy: RiskPolicy
) -> None:
    """Recompute the risk of a case's subjects by the risk policy; each one newly high gets a risk warning
    notice, recorded on the case's timeline and sent to notify (notice.issued). The caller holds the case's
    row lock."""
    for subject in newly_high(await recompute_risk(session, subject_ids, now, policy)):
        await _warn(session, case, subject, now)


def newly_high(changes: list[RiskChange]) -> list[RiskChange]:
    return [c for c in changes if c.risk == "high" and c.was != "high"]


async def _warn(session: AsyncSession, case: Any, subject: Any, now: datetime) -> None:
    notice = await notices.issue_risk_warning(session, case, subject, now)
    await effects.record(
        session,
        case,
        actor="system:rules",
        action="risk_warning",
        before=case.state,
        after=case.state,
        note=_warning_note(notice, subject),
        now=now,
        events=[_issued(case, notice)],
    )


async def match_parties(
    session: AsyncSession, case_id: uuid.UUID, parties: list[Party], area_code: str | None, now: datetime
) -> list[uuid.UUID]:
    """The subject of each party of a new case (known by one of its keys, or new), the case linked to them."""
    return await repo.upsert_parties(session, case_id, parties, area_code, now)


async def known_subjects(session: AsyncSession, keys: list[str]) -> dict[str, uuid.UUID]:
    """key hash → the subject known by it (for the keys known)."""
    return await repo.known_keys(session, keys)


PartyPlan = tuple[list[uuid.UUID], dict[uuid.UUID, tuple[str, str | None, bool]], dict[str, uuid.UUID]]


def plan_parties(parties: list[Party], known: dict[str, uuid.UUID]) -> PartyPlan:
    """Which subject each party of a new case is (known by a key, or new), before anything is written."""
    return repo.plan_parties(parties, known)


async def match_planned(
    session: AsyncSession, plans: list[tuple[uuid.UUID, list[Party], str | None, PartyPlan]], now: datetime
) -> list[list[uuid.UUID]]:
    """`match_parties` for many new cases in one statement (no two of them share a subject): per case, the
    subject of each of its parties with a key."""
    return await repo.upsert_parties_many(
        session, [(c, [p for p in parties if p.keys], area, plan) for c, parties, area, plan in plans], now
    )


async def facts_of_new(
    session: AsyncSession, subjects_of: list[tuple[uuid.UUID, list[uuid.UUID]]]
) -> dict[uuid.UUID, tuple[int, int, int]]:
    """Per new case: (party_prior_cases, party_open_cases, party_villages) as `grading_facts` weighs them."""
    return await repo.facts_many(session, [(c, list(dict.fromkeys(s))) for c, s in subjects_of])


async def linked_cases_of_new(
    session: AsyncSession, subjects_of: list[tuple[uuid.UUID, list[uuid.UUID]]]
) -> dict[uuid.UUID, list[uuid.UUID]]:
    return await repo.linked_cases_many(session, [(c, list(dict.fromkeys(s))) for c, s in subjects_of])


async def newly_high_of_new(
    session: AsyncSession, cases: list[tuple[uuid.UUID, list[uuid.UUID]]], now: datetime, policy: RiskPolicy
) -> list[tuple[uuid.UUID, Any]]:
    """The recount of `refresh_risk` for many new cases (no two share a subject) in one statement: (case id,
    subject) for each subject newly high, in the cases' order; `warn` issues their notices."""
    case_of: dict[uuid.UUID, uuid.UUID] = {}
    for case_id, subject_ids in cases:
        for sid in subject_ids:
            case_of.setdefault(sid, case_id)
    changes = await recompute_risk(session, list(case_of), now, policy)
    return [(case_of[s.id], s) for s in newly_high(changes)]


async def warn_many(session: AsyncSession, warnings: list[tuple[Any, Any]], now: datetime) -> None:
    """The risk warning notices of subjects newly high, (case, subject) in the order given, as `refresh_risk`
    issues them one by one: numbered in that order, each on its case's timeline and sent to notify."""
    issued = await notices.issue_risk_warnings(session, warnings, now)
    await effects.record_same_state(
        session,
        [
            (case, "system:rules", "risk_warning", _warning_note(notice, subject), [_issued(case, notice)])
            for (case, subject), notice in zip(warnings, issued, strict=True)
        ],
        now,
    )


def _warning_note(notice: dict[str, Any], subject: Any) -> str:
    return f"发出风险预警通知书 {notice['number']}（{subject.name or '当事人'}）"


def _issued(case: Any, notice: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return (
        "notice.issued",
        effects.case_payload(case)
        | {
            "notice_id": str(notice["id"]),
            "number": notice["number"],
            "notice_kind": "risk_warning",
            "unit": notice["unit"],
            "notice_area": notice["area_code"],
            "subject": notice["subject"],
            "respond_by": notice["respond_by"].isoformat(),
        },
    )


async def of_case(session: AsyncSession, case_id: uuid.UUID) -> list[uuid.UUID]:
    return await repo.of_case(session, case_id)


async def link(session: AsyncSession, subject_ids: list[uuid.UUID], case_id: uuid.UUID) -> None:
    """Link subjects to a case (e.g. the target of a merge), with no role."""
    for sid in subject_ids:
        await repo.link(session, sid, case_id, None)


async def linked_cases(session: AsyncSession, subject_ids: list[uuid.UUID], exclude_case: uuid.UUID) -> list[uuid.UUID]:
    return await repo.linked_cases(session, subject_ids, exclude_case)


async def history(session: AsyncSession, subject_ids: list[uuid.UUID], exclude_case: uuid.UUID) -> tuple[int, int]:
    """(most earlier cases of any one subject, most open cases of any one subject), this case excluded."""
    return await repo.history(session, subject_ids, exclude_case)


async def party_villages(session: AsyncSession, case_id: uuid.UUID) -> int:
    return await repo.party_villages(session, case_id)


async def list_subjects(
    session: AsyncSession, scope: dict[str, Any], risk: str | None, cursor: str | None, limit: int
) -> SubjectPage:
    """The subjects `scope` (the caller's, from the case domain) sees, last updated first."""
    after = decode_cursor(cursor) if cursor else None
    rows = await repo.list_subjects(
        session, scope, risk, limit + 1, (after[0].isoformat(), after[1]) if after else None
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return SubjectPage(
        items=[
            SubjectItem(
                id=r.id,
                kind=r.kind,
                name=r.name,
                area=r.area_code,
                risk=r.risk,
                case_count=r.case_count,
                open_cases=r.open_cases,
                cases=list(r.case_numbers),
                updated_at=r.updated_at,
            )
            for r in rows
        ],
        next_cursor=encode_cursor(rows[-1].updated_at, rows[-1].id) if more and rows else None,
    )


async def grading_facts(session: AsyncSession, case: CaseRow, departments_needed: int = 0) -> GradingFacts:
    """What the grading rules weigh for a case: its own fields and its parties' history (earlier and open
    cases, villages)."""
    subject_ids = await of_case(session, case.id)
    prior, open_ = await history(session, subject_ids, case.id)
    return GradingFacts(
        kind=case.kind,
        category=case.category,
        flags=list(case.flags or []),
        people_involved=case.people_involved,
        amount_cny=case.amount_cny,
        party_prior_cases=prior,
        party_open_cases=open_,
        party_villages=await party_villages(session, case.id),
        departments_needed=departments_needed,
    )
