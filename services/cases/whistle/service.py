"""报到: what a department (its system or its staff) does with the whistles blown to it; and what a
department's retirement (撤销) does to them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.cases.case import effects
from services.cases.case import service as cases
from services.cases.deadline import service as deadline_svc
from services.cases.idempotency.service import once
from services.cases.principal import actor_name
from services.cases.vocabulary import WHISTLE_MOVE_ZH
from services.cases.whistle import repository as repo
from services.cases.whistle.exceptions import (
    NotADepartment,
    SuspendedCaseCannotReturn,
    WhistleMoveNotAllowed,
    WhistleNotFound,
)
from services.cases.whistle.schemas import DeadlineBrief, WhistleItem, WhistleOut, WhistlePage
from shared.auth import Principal
from shared.clock import clock
from shared.paging import decode_cursor, encode_cursor

if TYPE_CHECKING:  # the case domain imports this module's callers; typing only
    from services.cases.case.domain import CaseDomain

# whistle action → (states it is allowed from, state it leads to)
MOVES = {
    "ack": (("pending",), "acknowledged"),
    "progress": (("acknowledged", "working"), "working"),
    "done": (("acknowledged", "working"), "done"),
    "return": (("pending", "acknowledged", "working"), "returned"),
}
RETIRE_ACTOR = "system:org_import"


def department_of(principal: Principal) -> str:
    if principal.role not in ("department_staff", "department_system") or not principal.department:
        raise NotADepartment()
    return principal.department


async def act(
    session: AsyncSession, domain: CaseDomain, principal: Principal, whistle_id: uuid.UUID, move: str, note: str | None
) -> WhistleOut:
    dept = department_of(principal)
    whistle = await repo.get_for_department(session, whistle_id, dept)
    if whistle is None:
        raise WhistleNotFound()
    case = await cases.lock_case(session, whistle.case_id)
    whistle = await repo.get_for_department(session, whistle_id, dept)  # re-read under the case lock
    if case is None or whistle is None:  # a whistle's case is never deleted
        raise WhistleNotFound()
    allowed_from, target = MOVES[move]
    if whistle.state not in allowed_from or case.state in ("merged", "rejected", "closed"):
        allowed = [m for m, (frm, _) in MOVES.items() if whistle.state in frm]
        raise WhistleMoveNotAllowed(
            f"吹哨事项处于「{whistle.state}」状态，不能{WHISTLE_MOVE_ZH[move]}",
            allowed_actions=allowed,
            state=whistle.state,
        )
    if move == "return" and whistle.role == "lead" and case.state == "suspended":
        # a returned case has no resume: its paused clocks would stay frozen for ever
        allowed = [m for m, (frm, _) in MOVES.items() if whistle.state in frm and m != "return"]
        raise SuspendedCaseCannotReturn(allowed_actions=allowed, state=whistle.state)
    now = clock.now()
    actor = actor_name(principal)
    extra: dict[str, Any] = {}
    if move == "ack":
        extra["acknowledged_at"] = now
        await deadline_svc.meet(session, domain.deadlines, case.id, ("acknowledge",), actor, now, whistle_id=whistle.id)
    elif move == "progress":
        await deadline_svc.meet(session, domain.deadlines, case.id, ("first_response", "update"), actor, now)
    elif move == "done":
        extra["done_at"] = now
        if whistle.role == "lead":  # the lead's done is the departments' finishing (131 "3"): the case is resolvable
            await deadline_svc.meet(session, domain.deadlines, case.id, ("resolve",), actor, now)
    else:
        extra["returned_at"] = now
        extra["return_reason"] = note
        await deadline_svc.cancel(
            session, case.id, f"{dept} 退回：{note}", now, kinds=("acknowledge",), whistle_id=whistle.id
        )
        if whistle.role == "lead":  # the next lead gets its own 3 days
            await deadline_svc.cancel(session, case.id, f"牵头部门 {dept} 退回：{note}", now, kinds=("resolve",))
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
        case = await cases.update_case(session, case.id, now, state=after, **fields)
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
        note=f"{dept}{WHISTLE_MOVE_ZH[move]}" + (f"：{note}" if note else ""),
        now=now,
        events=[(f"whistle.{'acknowledged' if move == 'ack' else move if move != 'return' else 'returned'}", payload)],
    )
    return WhistleOut.of(updated)


async def act_once(
    session: AsyncSession,
    domain: CaseDomain,
    principal: Principal,
    whistle_id: uuid.UUID,
    move: str,
    note: str | None,
    key: str | None,
) -> dict[str, Any]:
    """`act` under Idempotency-Key: a department system retrying after a lost answer gets that answer."""

    async def run() -> dict[str, Any]:
        return (await act(session, domain, principal, whistle_id, move, note)).model_dump()

    return await once(
        session, actor_name(principal), key, {"whistle": str(whistle_id), "move": move, "note": note}, run
    )


def deadline_brief(d: Any) -> DeadlineBrief:
    return DeadlineBrief(
        id=str(d.id),
        kind=d.kind,
        state=d.state,
        due_at=d.due_at,
        met_at=d.met_at,
        breached_at=d.breached_at,
        paused=d.paused_at is not None,
    )


async def list_mine(
    session: AsyncSession, principal: Principal, status: str | None, cursor: str | None, limit: int
) -> WhistlePage:
    dept = department_of(principal)
    after = decode_cursor(cursor) if cursor else None
    rows = await repo.list_for_department(session, dept, status, after, limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    clocks = await repo.deadlines_of(session, rows)  # each whistle's deadlines
    return WhistlePage(
        items=[WhistleItem.of(r, deadlines=[deadline_brief(d) for d in clocks[r.id]]) for r in rows],
        next_cursor=encode_cursor(rows[-1].created_at, rows[-1].id) if more and rows else None,
    )


async def cancel_for_retired(session: AsyncSession, codes: list[str], now: datetime) -> int:
    """A department retired (撤销) by an org import leaves no case waiting on it: its whistles still at
    work end `cancelled`, each under its case's row lock, with the timeline entry, the whistle.cancelled
    event and its deadlines called off — a lead's resolve clock too, so the next lead gets its own days.
    Returns how many were cancelled."""
    n = 0
    for pair in await repo.open_of_departments(session, codes) if codes else []:
        case = await cases.lock_case(session, pair.case_id)
        if case is None:  # a whistle's case is never deleted
            continue
        dept = pair.department_code
        reason = f"部门 {dept} 已撤销"
        stopped = await repo.cancel_open(session, case.id, reason, now, department=dept)  # re-checked under the lock
        if not stopped:
            continue
        for w in stopped:
            await deadline_svc.cancel(session, case.id, reason, now, kinds=("acknowledge",), whistle_id=w.id)
        if any(w.role == "lead" for w in stopped):
            await deadline_svc.cancel(session, case.id, f"牵头部门 {dept} 已撤销", now, kinds=("resolve",))
            if case.responsible_unit == dept:
                case = await cases.update_case(session, case.id, now, responsible_unit=None)
        events = [
            (
                "whistle.cancelled",
                effects.case_payload(case)
                | {"whistle_id": str(w.id), "department": dept, "role": w.role, "state": "cancelled", "note": reason},
            )
            for w in stopped
        ]
        await effects.record(
            session,
            case,
            actor=RETIRE_ACTOR,
            action="whistle_cancel",
            before=case.state,
            after=case.state,
            note=f"{reason}，吹哨事项取消",
            now=now,
            events=events,
            data={"whistles_cancelled": [str(w.id) for w in stopped]},
        )
        n += len(stopped)
    return n


async def whistles_of_case(session: AsyncSession, case_id: uuid.UUID) -> list[Any]:
    """A case's whistles (吹哨), oldest first."""
    return await repo.of_case(session, case_id)


async def whistleable_departments(session: AsyncSession, codes: list[str]) -> dict[str, Any]:
    """Those of `codes` that may be whistled (a retired department is not among them), by code."""
    return await repo.departments(session, codes)


async def add_whistles(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Record new whistles of a case (the `whistle` action)."""
    await repo.insert(session, rows)


async def cancel_open_whistles(
    session: AsyncSession, case_id: uuid.UUID, reason: str, now: datetime, department: str | None = None
) -> list[Any]:
    """End a case's whistles still at work (reject, close, merge …); returns the ended ones."""
    return await repo.cancel_open(session, case_id, reason, now, department)
