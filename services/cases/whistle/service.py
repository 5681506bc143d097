"""报到: what a department (its system or its staff) does with the whistles blown to it."""

from __future__ import annotations

import uuid
from typing import Any

from services.cases.case import effects
from services.cases.case import repository as case_repo
from services.cases.case.domain import CaseDomain
from services.cases.deadline import service as deadline_service
from services.cases.idempotency.service import once
from services.cases.whistle import repository as repo
from shared.auth import Principal
from shared.clock import clock
from shared.errors import Conflict, NotFound
from shared.paging import decode_cursor, encode_cursor

# whistle action → (states it is allowed from, state it leads to)
MOVES = {
    "ack": (("pending",), "acknowledged"),
    "progress": (("acknowledged", "working"), "working"),
    "done": (("acknowledged", "working"), "done"),
    "return": (("pending", "acknowledged", "working"), "returned"),
}
ZH = {"ack": "报到", "progress": "报告进展", "done": "报告办结", "return": "退回"}


def department_of(principal: Principal) -> str:
    if principal.role not in ("department_staff", "department_system") or not principal.department:
        raise NotFound()
    return principal.department


async def act(
    session: Any, domain: CaseDomain, principal: Principal, whistle_id: uuid.UUID, move: str, note: str | None
) -> Any:
    dept = department_of(principal)
    whistle = await repo.get_for_department(session, whistle_id, dept)
    if whistle is None:
        raise NotFound("吹哨事项不存在")
    case = await case_repo.lock_case(session, whistle.case_id)
    whistle = await repo.get_for_department(session, whistle_id, dept)  # re-read under the case lock
    allowed_from, target = MOVES[move]
    if whistle.state not in allowed_from or case.state in ("merged", "rejected", "closed"):
        allowed = [m for m, (frm, _) in MOVES.items() if whistle.state in frm]
        raise Conflict(
            f"吹哨事项处于「{whistle.state}」状态，不能{ZH[move]}", allowed_actions=allowed, state=whistle.state
        )
    if move == "return" and whistle.role == "lead" and case.state == "suspended":
        # a returned case has no resume: its paused clocks would stay frozen for ever
        allowed = [m for m, (frm, _) in MOVES.items() if whistle.state in frm and m != "return"]
        raise Conflict("案件已挂起，恢复办理后才能退回", allowed_actions=allowed, state=whistle.state)
    now = clock.now()
    actor = f"{principal.role}:{principal.username or principal.subject}"
    extra: dict[str, Any] = {}
    if move == "ack":
        extra["acknowledged_at"] = now
        await deadline_service.meet(
            session, domain.deadlines, case.id, ("acknowledge",), actor, now, whistle_id=whistle.id
        )
    elif move == "progress":
        await deadline_service.meet(session, domain.deadlines, case.id, ("first_response", "update"), actor, now)
    elif move == "done":
        extra["done_at"] = now
        if whistle.role == "lead":  # the lead's done is the departments' finishing (131 "3"): the case is resolvable
            await deadline_service.meet(session, domain.deadlines, case.id, ("resolve",), actor, now)
    else:
        extra["returned_at"] = now
        extra["return_reason"] = note
        await deadline_service.cancel(
            session, case.id, f"{dept} 退回：{note}", now, kinds=("acknowledge",), whistle_id=whistle.id
        )
        if whistle.role == "lead":  # the next lead gets its own 3 days
            await deadline_service.cancel(session, case.id, f"牵头部门 {dept} 退回：{note}", now, kinds=("resolve",))
    updated = await repo.set_state(session, whistle.id, target, now, **extra)
    before = case.state
    after = before
    fields: dict[str, Any] = {}
    if move in ("ack", "progress") and before == "assigned":
        after = "in_progress"
    if move == "return" and whistle.role == "lead":
        after = "returned"  # back to the dispatcher (退回)
        fields["responsible_unit"] = None
    if after != before or fields:
        case = await case_repo.update_case(session, case.id, now, state=after, **fields)
    payload = effects.case_payload(case) | {
        "whistle_id": str(whistle.id),
        "department": dept,
        "role": whistle.role,
        "state": target,
        "note": note,
    }
    await effects.record(
        session,
        case,
        actor=actor,
        action=f"whistle_{move}",
        before=before,
        after=after,
        note=f"{dept}{ZH[move]}" + (f"：{note}" if note else ""),
        now=now,
        events=[(f"whistle.{'acknowledged' if move == 'ack' else move if move != 'return' else 'returned'}", payload)],
    )
    return updated


async def act_once(
    session: Any,
    domain: CaseDomain,
    principal: Principal,
    whistle_id: uuid.UUID,
    move: str,
    note: str | None,
    key: str | None,
) -> dict[str, Any]:
    """`act` under Idempotency-Key: a department system retrying after a lost answer gets that answer."""

    async def run() -> dict[str, Any]:
        return whistle_out(await act(session, domain, principal, whistle_id, move, note))

    actor = f"{principal.role}:{principal.username or principal.subject}"
    return await once(session, actor, key, {"whistle": str(whistle_id), "move": move, "note": note}, run)


def whistle_out(w: Any) -> dict[str, Any]:
    return {
        "id": str(w.id),
        "case_id": str(w.case_id),
        "case_number": getattr(w, "case_number", None),
        "title": getattr(w, "title", None),
        "department": w.department_code,
        "role": w.role,
        "state": w.state,
        "reason": w.reason,
        "created_at": w.created_at,
        "acknowledged_at": w.acknowledged_at,
        "done_at": w.done_at,
        "returned_at": w.returned_at,
        "return_reason": w.return_reason,
    }


def deadline_brief(d: Any) -> dict[str, Any]:
    return {
        "id": str(d.id),
        "kind": d.kind,
        "state": d.state,
        "due_at": d.due_at,
        "met_at": d.met_at,
        "breached_at": d.breached_at,
        "paused": d.paused_at is not None,
    }


async def list_mine(
    session: Any, principal: Principal, status: str | None, cursor: str | None, limit: int
) -> dict[str, Any]:
    dept = department_of(principal)
    after = decode_cursor(cursor) if cursor else None
    rows = await repo.list_for_department(session, dept, status, after, limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    clocks = await repo.deadlines_of(session, rows)
    return {
        "items": [whistle_out(r) | {"deadlines": [deadline_brief(d) for d in clocks[r.id]]} for r in rows],
        "next_cursor": encode_cursor(rows[-1].created_at, rows[-1].id) if more and rows else None,
    }
