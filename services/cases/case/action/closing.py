"""The end of a case's work and after: 办结 (resolve), 答复 (reply, which sends the revisit tasks),
回访 (revisit; dissatisfied reopens), 销号 (close), 并案 (merge), 不予受理 (reject) and 重新办理 (reopen)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.cases.case import effects
from services.cases.case import repository as repo
from services.cases.case import service as case_service
from services.cases.case.action import schemas as bodies
from services.cases.case.action.exceptions import LeadNotDone, MergeIntoItself, MergeTargetEnded, MergeTargetUnknown
from services.cases.case.action.transition import transition
from services.cases.case.domain import CaseDomain
from services.cases.case.machine import allowed_actions
from services.cases.case.models import CaseRow
from services.cases.deadline import service as deadline_svc
from services.cases.mediator import service as mediator_register
from services.cases.principal import actor_name
from services.cases.subject import service as subjects
from services.cases.task import service as tasks
from services.cases.whistle import service as whistle_service
from shared.auth import Principal

CLOSING_KINDS = ("contact", "major_report", "acknowledge", "resolve", "first_response", "update")


async def do_resolve(
    session: AsyncSession, domain: CaseDomain, p: Principal, case: CaseRow, body: bodies.ResolveBody, now: datetime
) -> None:
    whistles = await whistle_service.whistles_of_case(session, case.id)
    lead = next((w for w in reversed(whistles) if w.role == "lead" and w.state not in ("returned", "cancelled")), None)
    if lead is not None and lead.state != "done":
        raise LeadNotDone(allowed_actions=[a for a in allowed_actions(case.state) if a != "resolve"])
    await mediator_register.check_codes(session, body.mediators, ("body", "mediators"))
    await deadline_svc.meet(session, domain.deadlines, case.id, ("resolve",), actor_name(p), now)
    await deadline_svc.cancel(session, case.id, "案件已办结", now, kinds=CLOSING_KINDS)
    resolution = {
        "outcome": body.outcome,
        "note": body.note,
        "mediator": body.mediator,
        "mediators": body.mediators,
        "at": now.isoformat(),
        "by": actor_name(p),
    }
    updated = await transition(
        session, case, p, "resolve", now, body.note or f"办结：{body.outcome}", resolution=resolution
    )
    await deadline_svc.start(session, domain.deadlines, updated, "resolved", now)


async def do_reply(
    session: AsyncSession, domain: CaseDomain, p: Principal, case: CaseRow, body: bodies.ReplyBody, now: datetime
) -> None:
    await deadline_svc.meet(session, domain.deadlines, case.id, ("reply",), actor_name(p), now)
    # a desk case's applicant (the caller of a phone-channel case) hears the reply from notify by SMS
    applicant = case_service.applicant_of(case) if case.channel != "grid" else None
    updated = await transition(
        session,
        case,
        p,
        "reply",
        now,
        body.text,
        reply=body.text,
        payload={"applicant": applicant} if applicant else None,
        reply_text=body.text,
    )
    if updated.state != "replied":
        return  # an interim reply while the work goes on (e.g. after a deferral): no revisit yet
    await deadline_svc.start(session, domain.deadlines, updated, "replied", now)
    reporters = {r.worker_id for r in await repo.reports_with_workers(session, case.id)}
    await tasks.issue_revisits(session, case, sorted(reporters), body.text, now)


async def stop_reply_and_revisit(session: AsyncSession, case: CaseRow, reason: str, now: datetime) -> None:
    """A case going back to work: its reply/revisit clocks and revisit tasks are called off, so the next
    resolve and reply start fresh ones."""
    await deadline_svc.cancel(session, case.id, reason, now, kinds=("reply", "revisit"))
    await tasks.withdraw(session, case, reason, now)


async def complete_revisit(
    session: AsyncSession,
    domain: CaseDomain,
    case: CaseRow,
    satisfaction: str,
    note: str | None,
    actor: str,
    now: datetime,
    principal: Principal | None = None,
) -> None:
    await deadline_svc.meet(session, domain.deadlines, case.id, ("revisit",), actor, now)
    await tasks.withdraw(session, case, "回访已完成", now)
    if satisfaction == "dissatisfied":
        await stop_reply_and_revisit(session, case, "回访不满意，重新办理", now)
        before = case.state
        updated = await repo.update_case(session, case.id, now, state="in_progress", satisfaction=satisfaction)
        await effects.record(
            session,
            updated,
            actor=actor,
            action="revisit",
            before=before,
            after="in_progress",
            now=now,
            note=f"回访不满意，重新办理。{note or ''}",
            events=[("case.reopened", effects.case_payload(updated) | {"reason": "dissatisfied"})],
        )
        await deadline_svc.start(
            session, domain.deadlines, updated, "assigned", now, kinds=("first_response", "update")
        )
        return
    updated = await repo.update_case(session, case.id, now, state="revisited", satisfaction=satisfaction)
    await effects.record(
        session,
        updated,
        actor=actor,
        action="revisit",
        before=case.state,
        after="revisited",
        now=now,
        note=f"回访：{satisfaction}。{note or ''}",
        events=[("case.revisit", effects.case_payload(updated) | {"satisfaction": satisfaction})],
    )


async def do_revisit(
    session: AsyncSession, domain: CaseDomain, p: Principal, case: CaseRow, body: bodies.RevisitBody, now: datetime
) -> None:
    await complete_revisit(session, domain, case, body.satisfaction, body.note, actor_name(p), now, p)


async def cancel_whistles(
    session: AsyncSession, case: CaseRow, reason: str, now: datetime
) -> tuple[list[Any], list[tuple[str, dict[str, Any]]]]:
    """A case ending (merged, rejected, closed) ends its whistles still at work — assist ones too — with the
    reason, so no department is left with an item every move on which is refused; each is told."""
    stopped = await whistle_service.cancel_open_whistles(session, case.id, reason, now)
    events = [
        (
            "whistle.cancelled",
            effects.case_payload(case)
            | {
                "whistle_id": str(w.id),
                "department": w.department_code,
                "role": w.role,
                "state": "cancelled",
                "note": reason,
            },
        )
        for w in stopped
    ]
    return stopped, events


async def do_close(
    session: AsyncSession, domain: CaseDomain, p: Principal, case: CaseRow, body: bodies.EmptyBody, now: datetime
) -> None:
    await deadline_svc.cancel(session, case.id, "案件已销号", now)
    stopped, events = await cancel_whistles(session, case, "案件已销号", now)
    await transition(
        session,
        case,
        p,
        "close",
        now,
        body.note or "销号",
        closed_at=now,
        events=events,
        data={"whistles_cancelled": [str(w.id) for w in stopped]} if stopped else None,
    )
    await subjects.refresh_risk(session, case, await subjects.of_case(session, case.id), now, policy=domain.risk)


async def do_merge(
    session: AsyncSession, domain: CaseDomain, p: Principal, case: CaseRow, body: bodies.MergeBody, now: datetime
) -> None:
    if body.into == case.id:
        raise MergeIntoItself()
    target = await repo.lock_case(session, body.into)
    if target is None or not (p.role == "admin" or set(target.area_path) & set(p.areas)):
        raise MergeTargetUnknown()
    if target.state in ("merged", "rejected", "closed"):
        raise MergeTargetEnded(allowed_actions=allowed_actions(case.state))
    reason = f"已并入案件 {target.number}"
    moved = await repo.move_reports(session, case.id, target.id)
    await deadline_svc.cancel(session, case.id, reason, now)
    stopped, events = await cancel_whistles(session, case, reason, now)
    await subjects.link(session, await subjects.of_case(session, case.id), target.id)
    await transition(
        session,
        case,
        p,
        "merge",
        now,
        f"并入 {target.number}：{body.reason}",
        events=events,
        merged_into=target.id,
        data={"into": str(target.id), "whistles_cancelled": [str(w.id) for w in stopped]},
    )
    await effects.record(
        session,
        target,
        actor=actor_name(p),
        action="merge_in",
        before=target.state,
        after=target.state,
        now=now,
        note=f"案件 {case.number} 并入本案（{len(moved)} 份上报）：{body.reason}",
        events=[],
    )
    # the moved reports' phones learn the surviving case, in order behind what they heard of the merged one
    await effects.tell_phones(session, target, moved, target.state, aggregate=str(case.id))
    await subjects.refresh_risk(session, target, await subjects.of_case(session, target.id), now, policy=domain.risk)


async def do_reject(
    session: AsyncSession, domain: CaseDomain, p: Principal, case: CaseRow, body: bodies.ReasonBody, now: datetime
) -> None:
    await deadline_svc.cancel(session, case.id, f"不予受理：{body.reason}", now)
    stopped, events = await cancel_whistles(session, case, f"案件不予受理：{body.reason}", now)
    await transition(
        session,
        case,
        p,
        "reject",
        now,
        body.reason,
        reply=f"不予受理：{body.reason}",
        events=events,
        data={"whistles_cancelled": [str(w.id) for w in stopped]} if stopped else None,
    )
    await subjects.refresh_risk(session, case, await subjects.of_case(session, case.id), now, policy=domain.risk)


async def do_reopen(
    session: AsyncSession, domain: CaseDomain, p: Principal, case: CaseRow, body: bodies.ReasonBody, now: datetime
) -> None:
    if case.state in ("resolved", "replied"):
        await stop_reply_and_revisit(session, case, f"重新办理：{body.reason}", now)
    updated = await transition(session, case, p, "reopen", now, body.reason, closed_at=None, resolution=None)
    if updated.state == "in_progress":
        await deadline_svc.start(
            session, domain.deadlines, updated, "assigned", now, kinds=("first_response", "update")
        )
    else:
        await deadline_svc.start(session, domain.deadlines, updated, "received", now)
    await subjects.refresh_risk(session, case, await subjects.of_case(session, case.id), now, policy=domain.risk)
