"""The work on a case: 交办 (assign), contacting the parties, 吹哨 (whistling departments), 挂起 and
恢复 (suspend, resume), 延期 (an approved extension of one deadline) and progress updates."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.cases.case import effects
from services.cases.case.action import schemas as bodies
from services.cases.case.action.exceptions import (
    DeadlineExtendedBefore,
    DeadlineNotFound,
    DeadlineNotPending,
    DepartmentAlreadyWorking,
    ExtensionNotLater,
    ExtensionTooLong,
    LeadAlreadyNamed,
    UnknownDepartments,
)
from services.cases.case.action.grading import apply_grade
from services.cases.case.action.transition import transition
from services.cases.case.domain import CaseDomain, grade_record
from services.cases.case.machine import allowed_actions
from services.cases.case.models import CaseRow
from services.cases.deadline import service as deadline_svc
from services.cases.deadline.policy import parse_duration
from services.cases.principal import actor_name
from services.cases.subject import service as subjects
from services.cases.whistle import service as whistle_service
from shared.auth import Principal

# a whistle no longer working on the case: a department may be whistled again, a new lead named
FINISHED_WHISTLE = ("done", "returned", "cancelled")


async def do_assign(
    session: AsyncSession, domain: CaseDomain, p: Principal, case: CaseRow, body: bodies.AssignBody, now: datetime
) -> None:
    first = case.state in ("graded", "returned")
    updated = await transition(
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
        await deadline_svc.start(session, domain.deadlines, updated, "assigned", now)


async def do_contact(
    session: AsyncSession, domain: CaseDomain, p: Principal, case: CaseRow, body: bodies.ContactBody, now: datetime
) -> None:
    await deadline_svc.meet(session, domain.deadlines, case.id, ("contact",), actor_name(p), now)
    await transition(session, case, p, "contact", now, body.note)


def reaches(p: Principal, case: CaseRow, dept: Any) -> bool:
    """A department serves the case's area (its area is on the case's path: a county department may serve a
    township) or sits in the dispatcher's own subtree."""
    return p.role == "admin" or dept.area_code in case.area_path or bool(set(dept.area_path) & set(p.areas))


async def do_whistle(
    session: AsyncSession, domain: CaseDomain, p: Principal, case: CaseRow, body: bodies.WhistleBody, now: datetime
) -> None:
    codes = [d.code for d in body.departments]
    known = await whistle_service.whistleable_departments(session, codes)
    missing = [i for i, c in enumerate(codes) if c not in known or not reaches(p, case, known[c])]
    if missing:
        raise UnknownDepartments(missing)
    current = await whistle_service.whistles_of_case(session, case.id)
    active = {w.department_code for w in current if w.state not in FINISHED_WHISTLE}
    if any(c in active for c in codes):
        raise DepartmentAlreadyWorking(allowed_actions=allowed_actions(case.state))
    if any(d.role == "lead" for d in body.departments) and any(
        w.role == "lead" and w.state not in FINISHED_WHISTLE for w in current
    ):
        raise LeadAlreadyNamed(allowed_actions=allowed_actions(case.state))
    rows: list[dict[str, Any]] = [
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
    await whistle_service.add_whistles(session, rows)
    first = case.state in ("graded", "returned")
    lead = next((d.code for d in body.departments if d.role == "lead"), case.responsible_unit)
    ack_due: dict[uuid.UUID, str | None] = {}
    for r in rows:  # the clocks first, so each department's whistle.created carries its report-in due time
        started = await deadline_svc.start(
            session, domain.deadlines, case, "whistled", now, whistle_id=r["id"], department=r["department_code"]
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
    called = "、".join(f"{known[c].name}({d.role})" for c, d in zip(codes, body.departments, strict=True))
    updated = await transition(
        session,
        case,
        p,
        "whistle",
        now,
        f"吹哨：{called}；{body.reason}",
        events=events,
        responsible_unit=lead,
        data={"whistles": [str(r["id"]) for r in rows]},
    )
    if first:
        await deadline_svc.start(session, domain.deadlines, updated, "assigned", now)
    if len(current) + len(rows) >= 2 and (case.grade or {}).get("by") == "rules":
        grade = grade_record(
            domain.rules.grade(await subjects.grading_facts(session, updated, len(current) + len(rows)))
        )
        if grade["level"] != case.level:
            await apply_grade(session, domain, updated, grade, "system:rules", "吹哨涉及多个部门，重新研判", now)


async def do_suspend(
    session: AsyncSession, domain: CaseDomain, p: Principal, case: CaseRow, body: bodies.ReasonBody, now: datetime
) -> None:
    await deadline_svc.pause(session, case.id, now)
    await transition(session, case, p, "suspend", now, body.reason, suspended_at=now)


async def do_resume(
    session: AsyncSession, domain: CaseDomain, p: Principal, case: CaseRow, body: bodies.EmptyBody, now: datetime
) -> None:
    await deadline_svc.resume(session, domain.deadlines, case.id, now)
    await transition(session, case, p, "resume", now, body.note, suspended_at=None)


async def do_extend(
    session: AsyncSession, domain: CaseDomain, p: Principal, case: CaseRow, body: bodies.ExtendBody, now: datetime
) -> None:
    deadline = next(
        (d for d in await deadline_svc.deadlines_of_case(session, case.id, lock=True) if d.id == body.deadline_id), None
    )
    if deadline is None:
        raise DeadlineNotFound()
    if deadline.state != "pending":
        raise DeadlineNotPending(allowed_actions=allowed_actions(case.state))
    if deadline.extended_at is not None:
        raise DeadlineExtendedBefore(allowed_actions=allowed_actions(case.state))
    new_due = body.due_at if body.due_at else deadline.due_at + parse_duration(body.by or "0s")
    field = "due_at" if body.due_at else "by"
    if new_due <= deadline.due_at:
        raise ExtensionNotLater(field)
    if new_due - deadline.due_at > bodies.MAX_EXTENSION:
        raise ExtensionTooLong(field)
    ext = {
        "from": deadline.due_at.isoformat(),
        "to": new_due.isoformat(),
        "reason": body.reason,
        "approver": body.approver,
        "by": actor_name(p),
    }
    await deadline_svc.extend(session, domain.deadlines, deadline, new_due, ext, now)
    await transition(
        session,
        case,
        p,
        "extend",
        now,
        f"{deadline.kind} 时限延期至 {new_due.isoformat()}：{body.reason}（批准人 {body.approver}）",
        data=ext,
    )


async def do_update(
    session: AsyncSession, domain: CaseDomain, p: Principal, case: CaseRow, body: bodies.UpdateBody, now: datetime
) -> None:
    kinds = ("major_report",) if body.kind == "major_report" else ("first_response", "update")
    await deadline_svc.meet(session, domain.deadlines, case.id, kinds, actor_name(p), now)
    to = case.state if body.kind == "major_report" else None
    await transition(session, case, p, "update", now, body.note, to=to)
