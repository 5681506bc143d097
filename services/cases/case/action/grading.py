"""研判 and 提级: grading a case (re-running the rules or a dispatcher's override) and raising it one
tier (村→镇→县) — by a dispatcher, or by the deadline ladder (`escalate_case`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.cases.case import centre, effects
from services.cases.case import repository as repo
from services.cases.case.action import schemas as bodies
from services.cases.case.action.exceptions import AlreadyAtCounty
from services.cases.case.action.transition import transition
from services.cases.case.domain import CaseDomain, grade_record
from services.cases.case.machine import allowed_actions
from services.cases.case.models import CaseRow
from services.cases.deadline import service as deadline_svc
from services.cases.principal import actor_name
from services.cases.subject import service as subjects
from services.cases.whistle import service as whistle_service
from shared.auth import Principal


async def apply_grade(
    session: AsyncSession,
    domain: CaseDomain,
    case: CaseRow,
    grade: dict[str, Any],
    actor: str,
    note: str | None,
    now: datetime,
) -> Any:
    """Set a grade (rules or override), keep it in the history, start the clocks it implies."""
    await repo.add_grade(session, case.id, now, grade, actor, note)
    was_major = case.level == "major"
    handling = await centre.handling_for(session, case.area_path, grade["tier"], grade.get("joint_with"))
    updated = await repo.update_case(
        session,
        case.id,
        now,
        grade=grade,
        level=grade["level"],
        tier=grade["tier"],
        handling=handling,
        inform_county=bool(grade.get("inform_county")) or case.inform_county,
        initial_tier=case.initial_tier or grade["tier"],
    )
    if grade["level"] == "major" and not was_major:
        await deadline_svc.start(session, domain.deadlines, updated, "received", now, kinds=("major_report",))
    elif was_major and grade["level"] != "major":
        await deadline_svc.cancel(
            session,
            case.id,
            f"等级调整为「{grade['level']}」，不再适用重大事项十分钟报告",
            now,
            kinds=("major_report",),
        )
    await subjects.refresh_risk(session, updated, await subjects.of_case(session, case.id), now, policy=domain.risk)
    return updated


async def do_grade(
    session: AsyncSession, domain: CaseDomain, p: Principal, case: CaseRow, body: bodies.GradeBody, now: datetime
) -> None:
    whistles = await whistle_service.whistles_of_case(session, case.id)
    if body.level or body.tier:
        base = domain.rules.grade(await subjects.grading_facts(session, case, len(whistles)))
        level = body.level or case.level or base.level
        routed = domain.rules.tier_of(level)
        tier = body.tier or routed.tier
        grade = {
            "level": level,
            "score": base.score,
            "reasons": [f"人工调整：{body.reason}", *base.reasons],
            "tier": tier,
            "by": "override",
            "inform_county": routed.inform_county,
            # a joint level stays joint at its own tier; a tier set by hand names one handling centre
            "joint_with": routed.joint_with if tier == routed.tier else None,
        }
    else:
        grade = grade_record(domain.rules.grade(await subjects.grading_facts(session, case, len(whistles))))
    updated = await apply_grade(session, domain, case, grade, actor_name(p), body.reason or body.note, now)
    events = (
        [("case.major", effects.case_payload(updated))] if grade["level"] == "major" and case.level != "major" else []
    )
    graded = await transition(
        session, updated, p, "grade", now, body.reason or body.note, events=events, data={"grade": grade}
    )
    if case.state == "received":  # 研判 done: the clocks a policy starts at `graded`
        await deadline_svc.start(session, domain.deadlines, graded, "graded", now)


async def escalate_case(
    session: AsyncSession, case: CaseRow, actor: str, reason: str, now: datetime, principal: Principal | None = None
) -> Any:
    """One tier up (村→镇→县), handing the case over: the handling centre moves one level up, is told at
    once (case.escalated carries the new handling centre) and holds it in its queue; the old centre keeps
    read access. The case keeps its id and clocks. Used by dispatchers and by the ladder."""
    centres = await centre.centres_of(session, case.area_path)
    before = list(case.handling or [])
    new_tier, handling = centre.escalated(centres, case.tier)
    updated = await repo.update_case(session, case.id, now, tier=new_tier, handling=handling)
    payload = effects.case_payload(updated) | {
        "from_tier": case.tier,
        "to_tier": new_tier,
        "from_handling": before,
        "reason": reason,
    }
    await effects.record(
        session,
        updated,
        actor=actor,
        action="escalate",
        before=case.state,
        after=case.state,
        note=(
            f"提级：{case.tier or '-'} → {new_tier}，移交{centre.names(centres, handling)}办理"
            f"（原承办：{centre.names(centres, before) or '-'}）；{reason}"
        ),
        now=now,
        events=[("case.escalated", payload)],
        data={"from_handling": before, "handling": handling, "centre": centre.acting_centre(principal, case.area_path)}
        if principal
        else {"from_handling": before, "handling": handling},
    )
    return updated


async def do_escalate(
    session: AsyncSession, domain: CaseDomain, p: Principal, case: CaseRow, body: bodies.ReasonBody, now: datetime
) -> None:
    if case.tier == "county":
        raise AlreadyAtCounty(allowed_actions=[a for a in allowed_actions(case.state) if a != "escalate"])
    await escalate_case(session, case, actor_name(p), body.reason, now, p)
