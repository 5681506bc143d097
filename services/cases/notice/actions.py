"""What happens to a notice: the addressed unit answers it (a department its own; a centre's dispatcher one
addressed to that very centre, or one addressed to a retired department under its supervision), then the issuing centre closes the answered notice (结案). Both under Idempotency-Key."""

from __future__ import annotations

import uuid
from typing import Any

from services.cases.case import effects
from services.cases.case import repository as case_repo
from services.cases.deadline.reads import notice_scope
from services.cases.idempotency.service import once
from services.cases.notice import repository as repo
from services.cases.notice.service import notice_out
from shared.auth import Principal
from shared.clock import clock
from shared.errors import Conflict, Forbidden, NotFound

CENTRE_ROLES = ("dispatcher", "admin")


def actor(principal: Principal) -> str:
    return f"{principal.role}:{principal.username or principal.subject}"


async def _visible(session: Any, principal: Principal, notice_id: uuid.UUID) -> Any:
    sql, params = notice_scope(principal)
    if principal.role == "leader" or not await repo.list_visible(
        session, f"{sql} AND n.id = :nid", {**params, "nid": notice_id}, None, None, 1, None
    ):
        raise NotFound("通知不存在")
    return await repo.get(session, notice_id, lock=True)


async def _record(
    session: Any, notice: Any, by: str, action: str, note: str, event: str, extra: dict[str, Any]
) -> None:
    """On the case's timeline, and to notify with the addressed unit (whom notify tells of the close)."""
    if notice.case_id:
        case = await case_repo.lock_case(session, notice.case_id)
        about = {
            "notice_id": str(notice.id),
            "number": notice.number,
            "notice_kind": notice.kind,
            "unit": notice.unit,
            "subject": notice.subject,
            "notice_area": notice.area_code,
        }  # the centre that closes it (notify tells exactly its dispatchers)
        await effects.record(
            session,
            case,
            actor=by,
            action=action,
            before=case.state,
            after=case.state,
            note=note,
            now=clock.now(),
            events=[(event, effects.case_payload(case) | about | extra)],
        )


async def answer_notice(session: Any, principal: Principal, notice_id: uuid.UUID, answer: str) -> dict[str, Any]:
    notice = await _visible(session, principal, notice_id)
    if principal.role in CENTRE_ROLES:
        # a centre answers only what is addressed to itself: the unit is the dispatcher's own area, not a
        # centre below it (the township that supervises cannot answer the village centre's notice and close it)
        # — or a retired (撤销) department's: the centre supervising the notice answers in its stead
        active = await repo.department_active(session, notice.unit)
        if active is None:
            addressed = principal.role == "admin" or notice.unit in principal.areas
        else:
            addressed = not active and (
                principal.role == "admin" or await repo.area_in_scope(session, notice.area_code, list(principal.areas))
            )
    else:
        addressed = principal.department == notice.unit
    if not addressed:
        raise Forbidden(f"该通知由 {notice.unit} 答复")
    if notice.state != "issued":
        raise Conflict(
            "该通知已答复",
            allowed_actions=["close"] if notice.state == "answered" and principal.role in CENTRE_ROLES else [],
        )
    by = actor(principal)
    updated = await repo.answer(session, notice_id, answer, by, clock.now())
    await _record(
        session, notice, by, "notice_answer", f"{notice.number} 已答复：{answer}", "notice.answered", {"answer": answer}
    )
    return notice_out(updated)


async def close_notice(session: Any, principal: Principal, notice_id: uuid.UUID, note: str | None) -> dict[str, Any]:
    """The issuing centre (a dispatcher whose area holds the notice's centre) closes an answered notice."""
    notice = await _visible(session, principal, notice_id)
    if principal.role not in CENTRE_ROLES:
        raise NotFound("通知不存在")
    if principal.role != "admin" and not await repo.area_in_scope(session, notice.area_code, list(principal.areas)):
        raise Forbidden("只有发出通知的综治中心可以结案")
    if notice.state != "answered":
        raise Conflict(
            "只有已答复的通知可以结案" if notice.state == "issued" else "该通知已结案",
            allowed_actions=[],
            state=notice.state,
        )
    by = actor(principal)
    updated = await repo.close(session, notice_id, by, clock.now())
    await _record(
        session,
        notice,
        by,
        "notice_close",
        f"{notice.number} 已结案" + (f"：{note}" if note else ""),
        "notice.closed",
        {"note": note},
    )
    return notice_out(updated)


async def answer_notice_once(
    session: Any, principal: Principal, notice_id: uuid.UUID, answer: str, key: str | None
) -> dict[str, Any]:
    """`answer_notice` under Idempotency-Key: a retried answer gets the first reply, not a 409."""

    async def run() -> dict[str, Any]:
        return await answer_notice(session, principal, notice_id, answer)

    return await once(session, actor(principal), key, {"notice": str(notice_id), "answer": answer}, run)


async def close_notice_once(
    session: Any, principal: Principal, notice_id: uuid.UUID, note: str | None, key: str | None
) -> dict[str, Any]:
    async def run() -> dict[str, Any]:
        return await close_notice(session, principal, notice_id, note)

    return await once(session, actor(principal), key, {"notice": str(notice_id), "close": note}, run)
