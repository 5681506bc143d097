"""督办通知书 / 风险预警通知书: records with a number, a unit that must answer, and a state. They are
issued by the sweep (supervision) and by the risk rules (risk warning); the addressed unit answers one
(a department its own; a centre's dispatcher one addressed to that very centre, or one addressed to a
retired department under its supervision), then the issuing centre closes the answered notice (结案).
Answer and close run under Idempotency-Key."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.cases.case import centre, effects
from services.cases.case import service as case_service
from services.cases.case.exceptions import CaseNotFound
from services.cases.deadline import service as deadline_svc
from services.cases.deadline.policy import parse_duration
from services.cases.deadline.service import DeadlineEngine
from services.cases.idempotency.service import once
from services.cases.notice import repository as repo
from services.cases.notice.exceptions import (
    NotAddressedToCaller,
    NoticeAlreadyAnswered,
    NoticeAlreadyClosed,
    NoticeCaseEnded,
    NoticeCaseNotFound,
    NoticeNotAnswered,
    NoticeNotFound,
    NotIssuingCentre,
    NotSupervisingCentre,
    UnknownNoticeUnit,
)
from services.cases.notice.schemas import NoticeIssue, NoticeOut, NoticePage
from services.cases.org import service as org_service
from shared.auth import Principal
from shared.clock import CHINA_TZ, clock
from shared.paging import decode_cursor, encode_cursor

KIND_ZH = {
    "contact": "联系当事人",
    "major_report": "重大事项报告",
    "acknowledge": "部门报到",
    "resolve": "办结",
    "reply": "答复",
    "first_response": "首次回应",
    "update": "进展更新",
    "revisit": "回访",
    "notice_response": "督办答复",
}
RESPONSE_TIME = timedelta(days=1)
_TIER_LEVEL = {"village": "township", "township": "township", "county": "county"}
# Deadline kinds that run against the responsible unit (a department once whistled); the others (contact,
# major report, reply, revisit) are the handling centre's own duty.
UNIT_KINDS = ("acknowledge", "resolve", "first_response", "update")
CENTRE_ROLES = ("dispatcher", "admin")


async def tier_centre(session: AsyncSession, case: Any) -> str:
    """The centre that handles the case (its handling centre; a case without one: the centre of its tier),
    as an area code."""
    handling = list(getattr(case, "handling", None) or [])
    if handling:
        return handling[-1]  # a joint case: the nearer of its two centres (the township's)
    levels = await org_service.area_levels(session, list(case.area_path))
    tier = case.tier or "township"
    return levels.get(tier) or levels.get("township") or case.area_path[0]


async def supervising_area(session: AsyncSession, case: Any) -> tuple[str, str]:
    """The centre that supervises: the township's (or the county's for county-tier cases)."""
    levels = await org_service.area_levels(session, list(case.area_path))
    want = _TIER_LEVEL.get(case.tier or "township", "township")
    code = levels.get(want) or levels.get("county") or case.area_path[0]
    return code, (await org_service.area_name(session, code)) or code


def _local(at: datetime) -> str:
    return at.astimezone(CHINA_TZ).strftime("%Y年%m月%d日%H:%M")


async def issue_supervision(
    session: AsyncSession, case: Any, deadline: Any, now: datetime, engine: DeadlineEngine | None = None
) -> dict[str, Any]:
    """The ladder's 督办通知书 for a breached clock; with the deadline engine, its answer runs on the
    notice_response clock (among the case's deadlines) like a notice issued by hand."""
    area_code, area_name = await supervising_area(session, case)
    year = now.astimezone(CHINA_TZ).year
    n = await repo.next_number(session, area_code, year, "supervision")
    unit = (
        deadline.department_code
        or (case.responsible_unit if deadline.kind in UNIT_KINDS else None)
        or await tier_centre(session, case)
    )
    kind_zh = KIND_ZH.get(deadline.kind, deadline.kind)
    due_local = _local(deadline.due_at)
    notice_id = uuid.uuid4()
    respond_by = now + RESPONSE_TIME
    if engine is not None:
        clock_row = await deadline_svc.start_notice_response(session, engine, case, notice_id, now)
        respond_by = clock_row["due_at"]
    row = {
        "id": notice_id,
        "number": f"{area_name}督〔{year}〕{n}号",
        "kind": "supervision",
        "case_id": case.id,
        "deadline_id": deadline.id,
        "area_code": area_code,
        "unit": unit,
        "subject": f"关于案件{case.number}{kind_zh}超时的督办通知",
        "body": (
            f"{unit}：案件{case.number}（{case.title or ''}）的{kind_zh}时限已于{due_local}届满仍未完成。"
            f"请于{_local(respond_by)}前办理并书面答复。"
        ),
        "issued_at": now,
        "respond_by": respond_by,
    }
    await repo.insert(session, row)
    return row


def notice_out(n: Any) -> dict[str, Any]:
    """A notice as a plain dict (the case record's notices; the reply of an answer or close, stored as JSON
    under its Idempotency-Key)."""
    return {
        "id": str(n.id),
        "number": n.number,
        "kind": n.kind,
        "state": n.state,
        "case_id": str(n.case_id) if n.case_id else None,
        "deadline_id": str(n.deadline_id) if n.deadline_id else None,
        "area": n.area_code,
        "unit": n.unit,
        "subject": n.subject,
        "body": n.body,
        "issued_at": n.issued_at,
        "respond_by": n.respond_by,
        "answer": n.answer,
        "answered_at": n.answered_at,
        "answered_by": n.answered_by,
        "closed_at": n.closed_at,
        "closed_by": n.closed_by,
        "issued_by": n.issued_by,
        "reason": n.reason,
    }


def notice_item(n: Any) -> NoticeOut:
    return NoticeOut.model_validate(notice_out(n))


async def issue_risk_warning(session: AsyncSession, case: Any, subject: Any, now: datetime) -> dict[str, Any]:
    """风险预警通知书: a person or household has become high-risk; the supervising centre is warned and
    must answer with its plan (e.g. scheduled visits)."""
    area_code, area_name = await supervising_area(session, case)
    year = now.astimezone(CHINA_TZ).year
    n = await repo.next_number(session, area_code, year, "risk_warning")
    row = _risk_warning_row(case, subject, area_code, area_name, year, n, now)
    await repo.insert(session, row)
    return row


async def issue_risk_warnings(
    session: AsyncSession, warnings: list[tuple[Any, Any]], now: datetime
) -> list[dict[str, Any]]:
    """`issue_risk_warning` for many (case, subject) at once, numbered in the order given, in three statements."""
    if not warnings:
        return []
    areas = await org_service.levels_and_names(
        session, list(dict.fromkeys(c for case, _ in warnings for c in case.area_path))
    )
    year = now.astimezone(CHINA_TZ).year
    supervising: list[tuple[str, str]] = []
    for case, _ in warnings:
        levels = {areas[c][0]: c for c in case.area_path if c in areas}
        code = (
            levels.get(_TIER_LEVEL.get(case.tier or "township", "township"))
            or levels.get("county")
            or case.area_path[0]
        )
        supervising.append((code, (areas[code][1] if code in areas else None) or code))
    wanted: dict[tuple[str, int, str], int] = {}
    for code, _ in supervising:
        wanted[(code, year, "risk_warning")] = wanted.get((code, year, "risk_warning"), 0) + 1
    last = await repo.take_numbers(session, wanted)
    given = {k: last[k] - n for k, n in wanted.items()}
    rows = []
    for (case, subject), (area_code, area_name) in zip(warnings, supervising, strict=True):
        key = (area_code, year, "risk_warning")
        given[key] += 1
        rows.append(_risk_warning_row(case, subject, area_code, area_name, year, given[key], now))
    await repo.insert_many(session, rows)
    return rows


def _risk_warning_row(
    case: Any, subject: Any, area_code: str, area_name: str, year: int, n: int, now: datetime
) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "number": f"{area_name}预〔{year}〕{n}号",
        "kind": "risk_warning",
        "case_id": case.id,
        "deadline_id": None,
        "area_code": area_code,
        "unit": area_code,
        "subject": f"关于{subject.name or '当事人'}列为高风险人员的风险预警通知",
        "body": (
            f"{area_name}综治中心：{subject.name or '当事人'}已涉及{subject.case_count}起案件（最新为{case.number}），"
            f"风险等级升为高。请落实包保责任人，安排定期走访，"
            f"并于{int(RESPONSE_TIME.total_seconds() // 3600)}小时内答复。"
        ),
        "issued_at": now,
        "respond_by": now + RESPONSE_TIME,
    }


async def list_notices(
    session: AsyncSession,
    scope: dict[str, Any],
    state: str | None,
    kind: str | None,
    cursor: str | None,
    limit: int,
) -> NoticePage:
    """The notices `scope` (the caller's, from the case domain) sees, newest first."""
    rows = await repo.list_visible(session, scope, state, kind, limit + 1, decode_cursor(cursor) if cursor else None)
    more = len(rows) > limit
    rows = rows[:limit]
    return NoticePage(
        items=[notice_item(r) for r in rows],
        next_cursor=encode_cursor(rows[-1].issued_at, rows[-1].id) if more and rows else None,
    )


def actor(principal: Principal) -> str:
    return f"{principal.role}:{principal.username or principal.subject}"


async def _visible(session: AsyncSession, principal: Principal, scope: dict[str, Any], notice_id: uuid.UUID) -> Any:
    """The notice, locked, if the caller may act on it (leaders only read)."""
    if principal.role == "leader" or not await repo.visible(session, scope, notice_id):
        raise NoticeNotFound()
    return await repo.get(session, notice_id, lock=True)


async def _record(
    session: AsyncSession, notice: Any, by: str, action: str, note: str, event: str, extra: dict[str, Any]
) -> None:
    """On the case's timeline, and to notify with the addressed unit (whom notify tells of the close)."""
    if notice.case_id:
        case = await case_service.lock_case(session, notice.case_id)
        if case is None:  # a notice always belongs to a case (foreign key); kept for the type
            raise CaseNotFound()
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


async def answer_notice(
    session: AsyncSession, principal: Principal, scope: dict[str, Any], notice_id: uuid.UUID, answer: str
) -> dict[str, Any]:
    notice = await _visible(session, principal, scope, notice_id)
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
        raise NotAddressedToCaller(notice.unit)
    if notice.state != "issued":
        raise NoticeAlreadyAnswered(can_close=notice.state == "answered" and principal.role in CENTRE_ROLES)
    by = actor(principal)
    updated = await repo.answer(session, notice_id, answer, by, clock.now())
    await deadline_svc.meet_notice_response(session, notice_id, by, clock.now())
    await _record(
        session, notice, by, "notice_answer", f"{notice.number} 已答复：{answer}", "notice.answered", {"answer": answer}
    )
    return notice_out(updated)


async def close_notice(
    session: AsyncSession, principal: Principal, scope: dict[str, Any], notice_id: uuid.UUID, note: str | None
) -> dict[str, Any]:
    """The issuing centre (a dispatcher whose area holds the notice's centre) closes an answered notice."""
    notice = await _visible(session, principal, scope, notice_id)
    if principal.role not in CENTRE_ROLES:
        raise NoticeNotFound()
    if principal.role != "admin" and not await repo.area_in_scope(session, notice.area_code, list(principal.areas)):
        raise NotIssuingCentre()
    if notice.state == "issued":
        raise NoticeNotAnswered(notice.state)
    if notice.state != "answered":
        raise NoticeAlreadyClosed(notice.state)
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
    session: AsyncSession,
    principal: Principal,
    scope: dict[str, Any],
    notice_id: uuid.UUID,
    answer: str,
    key: str | None,
) -> dict[str, Any]:
    """`answer_notice` under Idempotency-Key: a retried answer gets the first reply, not a 409."""

    async def run() -> dict[str, Any]:
        return await answer_notice(session, principal, scope, notice_id, answer)

    return await once(session, actor(principal), key, {"notice": str(notice_id), "answer": answer}, run)


async def close_notice_once(
    session: AsyncSession,
    principal: Principal,
    scope: dict[str, Any],
    notice_id: uuid.UUID,
    note: str | None,
    key: str | None,
) -> dict[str, Any]:
    async def run() -> dict[str, Any]:
        return await close_notice(session, principal, scope, notice_id, note)

    return await once(session, actor(principal), key, {"notice": str(notice_id), "close": note}, run)


async def notices_of_case(session: AsyncSession, case_id: uuid.UUID) -> list[Any]:
    """A case's notices (督办 and 风险预警), oldest first."""
    return await repo.of_case(session, case_id)


async def notices_by_ids(session: AsyncSession, ids: list[uuid.UUID]) -> dict[uuid.UUID, Any]:
    """The notices by id (the sweep's notice_response clocks name theirs)."""
    return await repo.by_ids(session, ids)


ENDED = ("closed", "merged", "rejected")


async def _unit_of(session: AsyncSession, case: Any, unit: str) -> str:
    """A notice names a department (still active) or a centre on the case's area path."""
    if await repo.department_active(session, unit) or unit in case.area_path:
        return unit
    raise UnknownNoticeUnit()


async def issue_by_hand(
    session: AsyncSession, engine: DeadlineEngine, principal: Principal, body: NoticeIssue, now: datetime
) -> dict[str, Any]:
    """领导督办: a leader (or a dispatcher of a centre above the handling centre) issues a supervision
    notice on a case in their area, naming the unit, the reason and the response time. Numbered per area
    (the issuer's centre) and year like the ladder's; its answer runs on the notice_response clock."""
    case = await case_service.lock_case(session, body.case_id)
    if case is None or not (principal.role == "admin" or set(case.area_path) & set(principal.areas)):
        raise NoticeCaseNotFound()
    handling = list(case.handling or [])
    if principal.role == "dispatcher" and not centre.is_above(principal, case.area_path, handling):
        centres = await centre.centres_of(session, case.area_path)
        raise NotSupervisingCentre(
            f"本案由{centre.names(centres, handling)}承办，只有领导或上级综治中心可以督办",
            handling=handling,
        )
    if case.state in ENDED:
        raise NoticeCaseEnded(case.state)
    unit = await _unit_of(session, case, body.unit)
    area_code = centre.acting_centre(principal, case.area_path) or (await supervising_area(session, case))[0]
    area_name = (await org_service.area_name(session, area_code)) or area_code
    year = now.astimezone(CHINA_TZ).year
    n = await repo.next_number(session, area_code, year, "supervision")
    notice_id = uuid.uuid4()
    limit = parse_duration(body.respond_within) if body.respond_within else None
    clock_row = await deadline_svc.start_notice_response(session, engine, case, notice_id, now, limit)
    by = actor(principal)
    row = {
        "id": notice_id,
        "number": f"{area_name}督〔{year}〕{n}号",
        "kind": "supervision",
        "case_id": case.id,
        "deadline_id": None,
        "area_code": area_code,
        "unit": unit,
        "subject": f"关于案件{case.number}的督办通知",
        "body": (
            f"{unit}：{area_name}对案件{case.number}（{case.title or ''}）督办：{body.reason}。"
            f"请于{_local(clock_row['due_at'])}前办理并书面答复。"
        ),
        "issued_at": now,
        "respond_by": clock_row["due_at"],
        "issued_by": by,
        "reason": body.reason,
    }
    await repo.insert(session, row)
    await effects.record(
        session,
        case,
        actor=by,
        action="notice",
        before=case.state,
        after=case.state,
        note=f"督办：发出督办通知书 {row['number']}（{unit}）：{body.reason}",
        now=now,
        events=[
            (
                "notice.issued",
                effects.case_payload(case)
                | {
                    "notice_id": str(notice_id),
                    "number": row["number"],
                    "notice_kind": "supervision",
                    "unit": unit,
                    "notice_area": area_code,
                    "subject": row["subject"],
                    "reason": body.reason,
                    "respond_by": clock_row["due_at"].isoformat(),
                    "deadline_id": str(clock_row["id"]),
                    "deadline_kind": "notice_response",
                    "issued_by": by,
                },
            )
        ],
        data={"notice_id": str(notice_id), "centre": area_code},
    )
    stored = await repo.get(session, notice_id)
    return notice_out(stored)


async def issue_by_hand_once(
    session: AsyncSession, engine: DeadlineEngine, principal: Principal, body: NoticeIssue, key: str | None
) -> dict[str, Any]:
    """`issue_by_hand` under Idempotency-Key: a retried issue gets the first notice, not a second one."""

    async def run() -> dict[str, Any]:
        return await issue_by_hand(session, engine, principal, body, clock.now())

    return await once(session, actor(principal), key, {"issue": body.model_dump(mode="json")}, run)
