"""The actions of a case's life (POST /v1/cases/{id}/{action}). Each checks who acts and the state,
changes the case, its clocks and whistles, and records a timeline entry and the events — in the
request's transaction, under the case's row lock."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from services.cases.case import action_schemas as bodies
from services.cases.case import effects
from services.cases.case import repository as repo
from services.cases.case.domain import TIER_UP, CaseDomain, facts_for, grade_record
from services.cases.case.machine import ACTION_ZH, STATE_ZH, allowed_actions, next_state
from services.cases.db import outbox
from services.cases.deadline import repository as deadline_repo
from services.cases.deadline import service as clocks_svc
from services.cases.deadline.policy import parse_duration
from services.cases.grading.engine import TIER_OF_LEVEL
from services.cases.mediator import service as mediator_register
from services.cases.subject import repository as subjects
from services.cases.subject.service import refresh_risk
from services.cases.whistle import repository as whistle_repo
from shared.auth import Principal
from shared.clock import clock
from shared.contracts.events import TASK_CANCELLED
from shared.errors import Conflict, Forbidden, NotFound, Unprocessable
from shared.outbox import Event, publish

ACTORS = ("dispatcher", "admin")
# a whistle no longer working on the case: a department may be whistled again, a new lead named
FINISHED_WHISTLE = ("done", "returned", "cancelled")
CLOSING_KINDS = ("contact", "major_report", "acknowledge", "resolve", "first_response", "update")


class ActionNotAllowed(Conflict):
    code = "action_not_allowed"
    title = "当前状态下不能执行该操作"


def actor_name(principal: Principal) -> str:
    return f"{principal.role}:{principal.username or principal.subject}"


async def load_for_action(session: Any, principal: Principal, case_id: uuid.UUID) -> Any:
    """The case under its row lock, if the caller may see it; leaders see but do not act."""
    case = await repo.lock_case(session, case_id)
    visible = case is not None and (
        principal.role == "admin"
        or (principal.role in ("dispatcher", "leader") and set(case.area_path) & set(principal.areas))
    )
    if not visible:
        raise NotFound("案件不存在")
    if principal.role not in ACTORS:
        raise Forbidden("领导账号只读，不能办理案件")
    return case


def check_allowed(case: Any, action: str) -> None:
    allowed = allowed_actions(case.state)
    if action not in allowed:
        raise ActionNotAllowed(
            f"案件处于「{STATE_ZH.get(case.state, case.state)}」状态，不能{ACTION_ZH.get(action, action)}",
            allowed_actions=allowed,
            state=case.state,
        )


async def perform(
    session: Any, domain: CaseDomain, principal: Principal, case_id: uuid.UUID, action: str, body: Any
) -> uuid.UUID:
    case = await load_for_action(session, principal, case_id)
    check_allowed(case, action)
    handler = HANDLERS[action]
    await handler(session, domain, principal, case, body, clock.now())
    return case.id


# --- the handlers ------------------------------------------------------------------------------


async def _transition(
    session: Any,
    case: Any,
    principal: Principal,
    action: str,
    now: datetime,
    note: str | None,
    *,
    to: str | None = None,
    events: list[tuple[str, dict[str, Any]]] | None = None,
    data: dict[str, Any] | None = None,
    reply: str | None = None,
    **fields: Any,
) -> Any:
    before = case.state
    after = to or next_state(action, before)
    updated = await repo.update_case(session, case.id, now, state=after, **fields)
    evs = [
        (
            f"case.{action}",
            effects.case_payload(updated) | {"from": before, "to": after, "note": note, "actor": actor_name(principal)},
        )
    ]
    evs += events or []
    await effects.record(
        session,
        updated,
        actor=actor_name(principal),
        action=action,
        before=before,
        after=after,
        note=note,
        now=now,
        events=evs,
        data=data,
        reply=reply,
    )
    return updated


async def apply_grade(
    session: Any, domain: CaseDomain, case: Any, grade: dict[str, Any], actor: str, note: str | None, now: datetime
) -> Any:
    """Set a grade (rules or override), keep it in the history, start the clocks it implies."""
    await repo.add_grade(session, case.id, now, grade, actor, note)
    was_major = case.level == "major"
    updated = await repo.update_case(
        session,
        case.id,
        now,
        grade=grade,
        level=grade["level"],
        tier=grade["tier"],
        inform_county=bool(grade.get("inform_county")) or case.inform_county,
        initial_tier=case.initial_tier or grade["tier"],
    )
    if grade["level"] == "major" and not was_major:
        await clocks_svc.start(session, domain.clocks, updated, "received", now, kinds=("major_report",))
    elif was_major and grade["level"] != "major":
        await clocks_svc.cancel(
            session,
            case.id,
            f"等级调整为「{grade['level']}」，不再适用重大事项十分钟报告",
            now,
            kinds=("major_report",),
        )
    await refresh_risk(session, updated, await subjects.of_case(session, case.id), now)
    return updated


async def do_grade(
    session: Any, domain: CaseDomain, p: Principal, case: Any, body: bodies.GradeBody, now: datetime
) -> None:
    whistles = await whistle_repo.of_case(session, case.id)
    if body.level or body.tier:
        base = domain.rules.grade(await facts_for(session, case, len(whistles)))
        level = body.level or case.level or base.level
        tier = body.tier or TIER_OF_LEVEL[level][0]
        grade = {
            "level": level,
            "score": base.score,
            "reasons": [f"人工调整：{body.reason}", *base.reasons],
            "tier": tier,
            "by": "override",
            "inform_county": level == "major",
        }
    else:
        grade = grade_record(domain.rules.grade(await facts_for(session, case, len(whistles))))
    updated = await apply_grade(session, domain, case, grade, actor_name(p), body.reason or body.note, now)
    events = (
        [("case.major", effects.case_payload(updated))] if grade["level"] == "major" and case.level != "major" else []
    )
    graded = await _transition(
        session, updated, p, "grade", now, body.reason or body.note, events=events, data={"grade": grade}
    )
    if case.state == "received":  # 研判 done: the clocks a policy starts at `graded`
        await clocks_svc.start(session, domain.clocks, graded, "graded", now)


async def do_assign(
    session: Any, domain: CaseDomain, p: Principal, case: Any, body: bodies.AssignBody, now: datetime
) -> None:
    first = case.state in ("graded", "returned")
    updated = await _transition(
        session,
        case,
        p,
        "assign",
        now,
        body.note or f"交办至 {body.unit}",
        responsible_unit=body.unit,
        responsible_person=body.person,
    )
    if first:
        await clocks_svc.start(session, domain.clocks, updated, "assigned", now)


async def do_contact(
    session: Any, domain: CaseDomain, p: Principal, case: Any, body: bodies.ContactBody, now: datetime
) -> None:
    await clocks_svc.meet(session, domain.clocks, case.id, ("contact",), actor_name(p), now)
    await _transition(session, case, p, "contact", now, body.note)


def reaches(p: Principal, case: Any, dept: Any) -> bool:
    """A department serves the case's area (its area is on the case's path: a county department may serve a
    township) or sits in the dispatcher's own subtree."""
    return p.role == "admin" or dept.area_code in case.area_path or bool(set(dept.area_path) & set(p.areas))


async def do_whistle(
    session: Any, domain: CaseDomain, p: Principal, case: Any, body: bodies.WhistleBody, now: datetime
) -> None:
    codes = [d.code for d in body.departments]
    known = await whistle_repo.departments(session, codes)
    missing = [i for i, c in enumerate(codes) if c not in known or not reaches(p, case, known[c])]
    if missing:
        raise Unprocessable(
            "部门不存在、已撤销或不在本案辖区",
            errors=[
                {
                    "loc": ["body", "departments", i, "code"],
                    "msg": "unknown or retired department, or out of reach",
                    "type": "unknown_department",
                }
                for i in missing
            ],
        )
    current = await whistle_repo.of_case(session, case.id)
    active = {w.department_code for w in current if w.state not in FINISHED_WHISTLE}
    if any(c in active for c in codes):
        raise Conflict("该部门已在办理本案", allowed_actions=allowed_actions(case.state))
    if any(d.role == "lead" for d in body.departments) and any(
        w.role == "lead" and w.state not in FINISHED_WHISTLE for w in current
    ):
        raise Conflict("本案已有牵头部门", allowed_actions=allowed_actions(case.state))
    rows = [
        {
            "id": uuid.uuid4(),
            "case_id": case.id,
            "department_code": d.code,
            "role": d.role,
            "reason": body.reason,
            "now": now,
        }
        for d in body.departments
    ]
    await whistle_repo.insert(session, rows)
    first = case.state in ("graded", "returned")
    lead = next((d.code for d in body.departments if d.role == "lead"), case.responsible_unit)
    ack_due: dict[Any, Any] = {}
    for r in rows:  # the clocks first, so each department's whistle.created carries its report-in due time
        started = await clocks_svc.start(
            session, domain.clocks, case, "whistled", now, whistle_id=r["id"], department=r["department_code"]
        )
        ack_due[r["id"]] = next((c["due_at"].isoformat() for c in started if c["kind"] == "acknowledge"), None)
    events = [
        (
            "whistle.created",
            effects.case_payload(case)
            | {
                "whistle_id": str(r["id"]),
                "department": r["department_code"],
                "role": r["role"],
                "reason": body.reason,
                "acknowledge_due_at": ack_due[r["id"]],
            },
        )
        for r in rows
    ]
    updated = await _transition(
        session,
        case,
        p,
        "whistle",
        now,
        f"吹哨：{'、'.join(f'{known[c].name}({d.role})' for c, d in zip(codes, body.departments))}；{body.reason}",
        events=events,
        responsible_unit=lead,
        data={"whistles": [str(r["id"]) for r in rows]},
    )
    if first:
        await clocks_svc.start(session, domain.clocks, updated, "assigned", now)
    if len(current) + len(rows) >= 2 and (case.grade or {}).get("by") == "rules":
        grade = grade_record(domain.rules.grade(await facts_for(session, updated, len(current) + len(rows))))
        if grade["level"] != case.level:
            await apply_grade(session, domain, updated, grade, "system:rules", "吹哨涉及多个部门，重新研判", now)


async def do_suspend(
    session: Any, domain: CaseDomain, p: Principal, case: Any, body: bodies.ReasonBody, now: datetime
) -> None:
    await clocks_svc.pause(session, case.id, now)
    await _transition(session, case, p, "suspend", now, body.reason, suspended_at=now)


async def do_resume(
    session: Any, domain: CaseDomain, p: Principal, case: Any, body: bodies.EmptyBody, now: datetime
) -> None:
    await clocks_svc.resume(session, domain.clocks, case.id, now)
    await _transition(session, case, p, "resume", now, body.note, suspended_at=None)


async def do_extend(
    session: Any, domain: CaseDomain, p: Principal, case: Any, body: bodies.ExtendBody, now: datetime
) -> None:
    deadline = next(
        (d for d in await deadline_repo.of_case(session, case.id, lock=True) if d.id == body.deadline_id), None
    )
    if deadline is None:
        raise NotFound("时限不存在")
    if deadline.state != "pending":
        raise Conflict("只能对未到期的时限延期", allowed_actions=allowed_actions(case.state))
    if deadline.extended_at is not None:
        raise Conflict("该时限已延期过一次，不能再次延期", allowed_actions=allowed_actions(case.state))
    new_due = body.due_at if body.due_at else deadline.due_at + parse_duration(body.by or "0s")
    field = "due_at" if body.due_at else "by"
    if new_due <= deadline.due_at:
        raise Unprocessable(
            "延期后的时限必须晚于原时限",
            errors=[{"loc": ["body", field], "msg": "must be later than the current due time", "type": "value_error"}],
        )
    if new_due - deadline.due_at > bodies.MAX_EXTENSION:
        raise Unprocessable(
            f"一次延期不能超过 {bodies.MAX_EXTENSION.days} 天",
            errors=[{"loc": ["body", field], "msg": "extension too long", "type": "value_error"}],
        )
    ext = {
        "from": deadline.due_at.isoformat(),
        "to": new_due.isoformat(),
        "reason": body.reason,
        "approver": body.approver,
        "by": actor_name(p),
    }
    await clocks_svc.extend(session, domain.clocks, deadline, new_due, ext, now)
    await _transition(
        session,
        case,
        p,
        "extend",
        now,
        f"{deadline.kind} 时限延期至 {new_due.isoformat()}：{body.reason}（批准人 {body.approver}）",
        data=ext,
    )


async def escalate_case(
    session: Any, case: Any, actor: str, reason: str, now: datetime, principal: Principal | None = None
) -> Any:
    """One tier up (村→镇→县); the case keeps its id and clocks. Used by dispatchers and by the ladder."""
    new_tier = TIER_UP.get(case.tier or "village", "county")
    updated = await repo.update_case(session, case.id, now, tier=new_tier)
    payload = effects.case_payload(updated) | {"from_tier": case.tier, "to_tier": new_tier, "reason": reason}
    await effects.record(
        session,
        updated,
        actor=actor,
        action="escalate",
        before=case.state,
        after=case.state,
        note=f"提级：{case.tier or '-'} → {new_tier}；{reason}",
        now=now,
        events=[("case.escalated", payload)],
    )
    return updated


async def do_escalate(
    session: Any, domain: CaseDomain, p: Principal, case: Any, body: bodies.ReasonBody, now: datetime
) -> None:
    if case.tier == "county":
        raise Conflict(
            "案件已在县级办理，不能再提级", allowed_actions=[a for a in allowed_actions(case.state) if a != "escalate"]
        )
    await escalate_case(session, case, actor_name(p), body.reason, now, p)


async def do_update(
    session: Any, domain: CaseDomain, p: Principal, case: Any, body: bodies.UpdateBody, now: datetime
) -> None:
    kinds = ("major_report",) if body.kind == "major_report" else ("first_response", "update")
    await clocks_svc.meet(session, domain.clocks, case.id, kinds, actor_name(p), now)
    to = case.state if body.kind == "major_report" else None
    await _transition(session, case, p, "update", now, body.note, to=to)


async def do_resolve(
    session: Any, domain: CaseDomain, p: Principal, case: Any, body: bodies.ResolveBody, now: datetime
) -> None:
    whistles = await whistle_repo.of_case(session, case.id)
    lead = next((w for w in reversed(whistles) if w.role == "lead" and w.state not in ("returned", "cancelled")), None)
    if lead is not None and lead.state != "done":
        raise Conflict(
            "牵头部门尚未报告办结，不能办结案件",
            allowed_actions=[a for a in allowed_actions(case.state) if a != "resolve"],
        )
    await mediator_register.check_codes(session, body.mediators, ("body", "mediators"))
    await clocks_svc.meet(session, domain.clocks, case.id, ("resolve",), actor_name(p), now)
    await clocks_svc.cancel(session, case.id, "案件已办结", now, kinds=CLOSING_KINDS)
    resolution = {
        "outcome": body.outcome,
        "note": body.note,
        "mediator": body.mediator,
        "mediators": body.mediators,
        "at": now.isoformat(),
        "by": actor_name(p),
    }
    updated = await _transition(
        session, case, p, "resolve", now, body.note or f"办结：{body.outcome}", resolution=resolution
    )
    await clocks_svc.start(session, domain.clocks, updated, "resolved", now)


async def do_reply(
    session: Any, domain: CaseDomain, p: Principal, case: Any, body: bodies.ReplyBody, now: datetime
) -> None:
    await clocks_svc.meet(session, domain.clocks, case.id, ("reply",), actor_name(p), now)
    updated = await _transition(session, case, p, "reply", now, body.text, reply=body.text, reply_text=body.text)
    await clocks_svc.start(session, domain.clocks, updated, "replied", now)
    reporters = {r.worker_id for r in await repo.reports_with_workers(session, case.id)}
    for worker in sorted(reporters):
        task_id = uuid.uuid4()
        await repo.insert_task(
            session, {"id": task_id, "case_id": case.id, "worker_id": worker, "kind": "revisit", "now": now}
        )
        task = {
            "task_id": str(task_id),
            "worker_id": worker,
            "kind": "revisit",
            "case_id": str(case.id),
            "case_number": case.number,
            "title": f"回访：{case.title or case.number}",
            "reply": body.text,
        }
        await publish(
            session,
            outbox,
            [Event(type="task.assigned", aggregate_id=str(case.id), payload=task, destinations=("intake", "notify"))],
        )


async def withdraw_tasks(session: Any, case: Any, reason: str, now: datetime) -> None:
    """The case's open revisit tasks are withdrawn, and each phone is told to drop its task."""
    await publish(
        session,
        outbox,
        [
            Event(
                type=TASK_CANCELLED,
                aggregate_id=str(case.id),
                destinations=("intake",),
                payload={
                    "task_id": str(t.id),
                    "worker_id": t.worker_id,
                    "kind": t.kind,
                    "case_id": str(case.id),
                    "case_number": case.number,
                    "reason": reason,
                },
            )
            for t in await repo.cancel_tasks(session, case.id, now)
        ],
    )


async def stop_reply_and_revisit(session: Any, case: Any, reason: str, now: datetime) -> None:
    """A case going back to work: its reply/revisit clocks and revisit tasks are called off, so the next
    resolve and reply start fresh ones."""
    await clocks_svc.cancel(session, case.id, reason, now, kinds=("reply", "revisit"))
    await withdraw_tasks(session, case, reason, now)


async def complete_revisit(
    session: Any,
    domain: CaseDomain,
    case: Any,
    satisfaction: str,
    note: str | None,
    actor: str,
    now: datetime,
    principal: Principal | None = None,
) -> None:
    await clocks_svc.meet(session, domain.clocks, case.id, ("revisit",), actor, now)
    await withdraw_tasks(session, case, "回访已完成", now)
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
        await clocks_svc.start(session, domain.clocks, updated, "assigned", now, kinds=("first_response", "update"))
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
    session: Any, domain: CaseDomain, p: Principal, case: Any, body: bodies.RevisitBody, now: datetime
) -> None:
    await complete_revisit(session, domain, case, body.satisfaction, body.note, actor_name(p), now, p)


async def cancel_whistles(
    session: Any, case: Any, reason: str, now: datetime
) -> tuple[list[Any], list[tuple[str, dict[str, Any]]]]:
    """A case ending (merged, rejected, closed) ends its whistles still at work — assist ones too — with the
    reason, so no department is left with an item every move on which is refused; each is told."""
    stopped = await whistle_repo.cancel_open(session, case.id, reason, now)
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
    session: Any, domain: CaseDomain, p: Principal, case: Any, body: bodies.EmptyBody, now: datetime
) -> None:
    await clocks_svc.cancel(session, case.id, "案件已销号", now)
    stopped, events = await cancel_whistles(session, case, "案件已销号", now)
    await _transition(
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
    await refresh_risk(session, case, await subjects.of_case(session, case.id), now)


async def do_merge(
    session: Any, domain: CaseDomain, p: Principal, case: Any, body: bodies.MergeBody, now: datetime
) -> None:
    if body.into == case.id:
        raise Unprocessable(
            "不能并入本案", errors=[{"loc": ["body", "into"], "msg": "same case", "type": "value_error"}]
        )
    target = await repo.lock_case(session, body.into)
    if target is None or not (p.role == "admin" or set(target.area_path) & set(p.areas)):
        raise Unprocessable(
            "目标案件不存在", errors=[{"loc": ["body", "into"], "msg": "unknown case", "type": "not_found"}]
        )
    if target.state in ("merged", "rejected", "closed"):
        raise Conflict("目标案件已结束，不能并入", allowed_actions=allowed_actions(case.state))
    reason = f"已并入案件 {target.number}"
    moved = await repo.move_reports(session, case.id, target.id)
    await clocks_svc.cancel(session, case.id, reason, now)
    stopped, events = await cancel_whistles(session, case, reason, now)
    for sid in await subjects.of_case(session, case.id):
        await subjects.link(session, sid, target.id, None)
    await _transition(
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
    await refresh_risk(session, target, await subjects.of_case(session, target.id), now)


async def do_reject(
    session: Any, domain: CaseDomain, p: Principal, case: Any, body: bodies.ReasonBody, now: datetime
) -> None:
    await clocks_svc.cancel(session, case.id, f"不予受理：{body.reason}", now)
    stopped, events = await cancel_whistles(session, case, f"案件不予受理：{body.reason}", now)
    await _transition(
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
    await refresh_risk(session, case, await subjects.of_case(session, case.id), now)


async def do_reopen(
    session: Any, domain: CaseDomain, p: Principal, case: Any, body: bodies.ReasonBody, now: datetime
) -> None:
    if case.state in ("resolved", "replied"):
        await stop_reply_and_revisit(session, case, f"重新办理：{body.reason}", now)
    updated = await _transition(session, case, p, "reopen", now, body.reason, closed_at=None, resolution=None)
    if updated.state == "in_progress":
        await clocks_svc.start(session, domain.clocks, updated, "assigned", now, kinds=("first_response", "update"))
    else:
        await clocks_svc.start(session, domain.clocks, updated, "received", now)
    await refresh_risk(session, case, await subjects.of_case(session, case.id), now)


HANDLERS = {
    "grade": do_grade,
    "assign": do_assign,
    "contact": do_contact,
    "whistle": do_whistle,
    "suspend": do_suspend,
    "resume": do_resume,
    "extend": do_extend,
    "escalate": do_escalate,
    "update": do_update,
    "resolve": do_resolve,
    "reply": do_reply,
    "revisit": do_revisit,
    "close": do_close,
    "merge": do_merge,
    "reject": do_reject,
    "reopen": do_reopen,
}
