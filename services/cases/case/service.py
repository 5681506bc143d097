"""Cases: made from reports (exactly one per report), read by those whose area contains them, their
parties revealed to a dispatcher on the record, their timeline appended to."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.cases.audit import service as audit
from services.cases.case import centre, effects
from services.cases.case import repository as repo
from services.cases.case.domain import CaseDomain, grade_record
from services.cases.case.exceptions import (
    REVEAL_REASON_LOC,
    CaseNotFound,
    LeaderReadOnly,
    NoCaseScope,
    RevealReasonRequired,
)
from services.cases.case.machine import allowed_actions
from services.cases.case.models import CaseRow
from services.cases.case.schemas import (
    CaseOut,
    CasePage,
    CaseSummary,
    PartiesRevealed,
    PartyOut,
    ReportRef,
    TimelineEntry,
)
from services.cases.db import outbox
from services.cases.deadline import service as deadline_svc
from services.cases.notice import service as notice_service
from services.cases.org import service as org_service
from services.cases.principal import actor_name
from services.cases.subject import service as subjects
from services.cases.whistle import service as whistle_service
from services.cases.whistle.schemas import WhistleOut
from shared.auth import Principal
from shared.clock import china_date_str, clock
from shared.contracts.events import REPORT_STATUS, ReportSubmitted
from shared.outbox import Event, publish
from shared.paging import decode_cursor, encode_cursor
from shared.pii import PiiCipher, mask_id_number, mask_phone

RECEIVED = "received"
ACTORS = ("dispatcher", "admin")  # who acts on a case; leaders only read


def deadline_out(d: Any) -> dict[str, Any]:
    return {
        "id": str(d.id),
        "kind": d.kind,
        "state": d.state,
        "due_at": d.due_at,
        "met_at": d.met_at,
        "met_by": d.met_by,
        "breached_at": d.breached_at,
        "cancelled_at": d.cancelled_at,
        "cancel_reason": d.cancel_reason,
        "department": d.department_code,
        "whistle_id": str(d.whistle_id) if d.whistle_id else None,
        "notice_id": str(d.notice_id) if getattr(d, "notice_id", None) else None,
        "calendar": d.calendar,
        "provisional": d.provisional,
        "paused": d.paused_at is not None,
        "extension": d.extension,
        "started_at": d.started_at,
    }


def scope_of(principal: Principal) -> dict[str, Any]:
    """Which cases a caller may see. Centres and leaders: their area subtrees. Departments: only
    cases whistled to them (吹哨). Grid workers use the phone API only."""
    if principal.role == "admin":
        return {"all": True, "areas": ()}
    if principal.role in ("dispatcher", "leader"):
        return {"all": False, "areas": principal.areas}
    if principal.role in ("department_staff", "department_system"):
        return {"all": False, "areas": (), "department": principal.department or "-"}
    raise NoCaseScope()


async def load_for_action(session: AsyncSession, principal: Principal, case_id: uuid.UUID) -> CaseRow:
    """The case under its row lock, if the caller may see it; leaders see but do not act."""
    case = await repo.lock_case(session, case_id)
    visible = case is not None and (
        principal.role == "admin"
        or (principal.role in ("dispatcher", "leader") and set(case.area_path) & set(principal.areas))
    )
    if not visible:
        raise CaseNotFound()
    if principal.role not in ACTORS:
        raise LeaderReadOnly()
    return case


async def lock_case(session: AsyncSession, case_id: uuid.UUID) -> CaseRow | None:
    """The case under its row lock (whoever changes a case or what hangs on it takes it first)."""
    return await repo.lock_case(session, case_id)


async def update_case(session: AsyncSession, case_id: uuid.UUID, now: datetime, **fields: Any) -> CaseRow:
    """Set fields of a case (the caller holds its row lock); returns the case as it now is."""
    return await repo.update_case(session, case_id, now, **fields)


async def add_timeline_entries(session: AsyncSession, entries: Sequence[TimelineEntry]) -> None:
    """Append entries to cases' timelines (in the caller's transaction, in the order given): how another
    domain (the deadline sweep) writes the case domain's timeline."""
    await repo.add_timeline_entries(session, entries)


async def lock_unheld_cases(session: AsyncSession, case_ids: list[uuid.UUID]) -> set[uuid.UUID]:
    """Row-lock those of the cases no action holds right now (the others are skipped); returns their ids."""
    return await repo.lock_unheld(session, case_ids)


async def cases_by_ids(session: AsyncSession, case_ids: list[uuid.UUID]) -> dict[uuid.UUID, Any]:
    """The cases' rows by id (the columns events and the escalation ladder need)."""
    return await repo.by_ids(session, case_ids)


async def escalated_by_clock_since(session: AsyncSession, case_id: uuid.UUID, since: datetime) -> bool:
    """Whether the ladder already took this case a tier up since `since` (one tier per breach episode)."""
    return await repo.escalated_by_clock_since(session, case_id, since)


async def reporters_of(session: AsyncSession, case_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
    """The grid workers who reported each case (their phones hear its changes)."""
    return await repo.reporters_of(session, case_ids)


async def create_from_report(
    session: AsyncSession,
    report: ReportSubmitted,
    domain: CaseDomain | None = None,
    cipher: PiiCipher | None = None,
    channel: str = "grid",
) -> uuid.UUID | None:
    """One case per case-making report; a redelivered report makes nothing new."""
    report_id = uuid.UUID(report.report_id)
    if await repo.case_for_report(session, report_id):
        return None
    now = clock.now()
    grid = report.grid or ""
    path = (await org_service.area_paths(session, [grid])).get(grid) or [grid]
    case_id = uuid.uuid4()
    number = await repo.insert_case(
        session,
        {
            "id": case_id,
            "state": RECEIVED,
            "kind": report.kind,
            "category": report.category,
            "title": report.title,
            "description": report.description,
            "area_code": grid,
            "area_path": path,
            "reporter_id": report.worker_id,
            "parties": [p.model_dump() for p in report.parties],
            "people_involved": report.people_involved,
            "amount_cny": report.amount_cny,
            "flags": report.flags,
            "location": report.location,
            "attachments": report.attachments,
            "occurred_at": datetime.fromisoformat(report.occurred_at) if report.occurred_at else None,
            "channel": channel,
            "now": now,
        },
        china_date_str(now),
    )
    await repo.link_report(
        session, report_id, report.report_no, case_id, report.worker_id, datetime.fromisoformat(report.received_at)
    )
    await repo.add_timeline_entries(
        session,
        [
            TimelineEntry(
                case_id,
                now,
                f"grid_worker:{report.worker_id}",
                "receive",
                None,
                RECEIVED,
                f"网格员上报 {report.report_no}，已受理",
            )
        ],
    )
    level = None
    if domain is not None:
        level = await _receive(session, domain, case_id, report, now)
    await publish(
        session,
        outbox,
        [
            Event(
                type=REPORT_STATUS,
                aggregate_id=str(case_id),
                payload={
                    "worker_id": report.worker_id,
                    "report_id": report.report_id,
                    "report_no": report.report_no,
                    "case_id": str(case_id),
                    "case_number": number,
                    "state": RECEIVED,
                    "level": level,
                    "reply": None,
                },
                destinations=("intake",),
            )
        ],
    )
    return case_id


async def _receive(
    session: AsyncSession, domain: CaseDomain, case_id: uuid.UUID, report: ReportSubmitted, now: datetime
) -> str:
    """A new case: its parties become subjects (matched by keyed hash, never by name), the rules grade
    it, and its first clocks start (contact; major_report for a major case)."""
    parties = [
        subjects.Party([k for k in (p.id_number_hash, p.phone_hash) if k], p.name, p.role) for p in report.parties
    ]
    subject_ids = await subjects.match_parties(session, case_id, parties, report.grid, now)
    case = await repo.lock_case(session, case_id)
    grade = grade_record(domain.rules.grade(await subjects.grading_facts(session, case)))
    await repo.add_grade(session, case_id, now, grade, "system:rules", None)
    case = await repo.update_case(
        session,
        case_id,
        now,
        grade=grade,
        level=grade["level"],
        tier=grade["tier"],
        handling=await centre.handling_for(session, case.area_path, grade["tier"], grade.get("joint_with")),
        initial_tier=grade["tier"],
        inform_county=bool(grade["inform_county"]),
    )
    await deadline_svc.start(session, domain.deadlines, case, "received", now)
    await subjects.refresh_risk(session, case, subject_ids, now)
    linked = await subjects.linked_cases(session, subject_ids, case_id)
    if linked:
        await repo.add_timeline_entries(
            session,
            [
                TimelineEntry(
                    case_id,
                    now,
                    "system:rules",
                    "link",
                    RECEIVED,
                    RECEIVED,
                    f"当事人在 {len(linked)} 起其他案件中出现，已关联",
                    {"linked": [str(c) for c in linked]},
                )
            ],
        )
    events = [("case.received", effects.case_payload(case) | {"grade": grade})]
    if grade["level"] == "major":
        events.append(("case.major", effects.case_payload(case) | {"grade": grade}))
    who = await effects.people(session, case)
    await publish(
        session,
        outbox,
        [Event(type=t, aggregate_id=str(case_id), payload=p | who, destinations=effects.NOTIFY) for t, p in events],
    )
    return grade["level"]


def _summary(r: CaseRow) -> CaseSummary:
    return CaseSummary(
        id=str(r.id),
        number=r.number,
        state=r.state,
        kind=r.kind,
        category=r.category,
        title=r.title,
        area=r.area_code,
        tier=r.tier,
        level=r.level,
        handling=list(r.handling or []),
        created_at=r.created_at,
        updated_at=r.updated_at,
    )


def handling_filter(principal: Principal, value: str | None) -> list[str] | None:
    """`handling=mine`: the caller's centres (their areas); an area code: that centre; none: no filter."""
    if value is None:
        return None
    return list(principal.areas) if value == "mine" else [value]


async def list_cases(
    session: AsyncSession, principal: Principal, filters: dict[str, Any], cursor: str | None, limit: int
) -> CasePage:
    scope = scope_of(principal)
    after = decode_cursor(cursor) if cursor else None
    rows = await repo.list_cases(session, scope, filters, after, limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return CasePage(
        items=[_summary(r) for r in rows],
        next_cursor=encode_cursor(rows[-1].created_at, rows[-1].id) if more and rows else None,
    )


def mask_party(cipher: PiiCipher, p: dict[str, Any]) -> PartyOut:
    return PartyOut(
        name=p.get("name"),
        role=p.get("role"),
        relation=p.get("relation"),
        id_number=mask_id_number(cipher.decrypt(p.get("id_number_enc"))),
        phone=mask_phone(cipher.decrypt(p.get("phone_enc"))),
    )


async def get_case(session: AsyncSession, principal: Principal, case_id: uuid.UUID, cipher: PiiCipher) -> CaseOut:
    row = await repo.get_case(session, case_id, scope_of(principal))
    if row is None:
        raise CaseNotFound()
    reports = await repo.reports_of(session, case_id)
    timeline = await repo.timeline_of(session, case_id)
    deadlines = await deadline_svc.deadlines_of_case(session, case_id)
    whistles = await whistle_service.whistles_of_case(session, case_id)
    notices = await notice_service.notices_of_case(session, case_id)
    grades = await repo.grades_of(session, case_id)
    return CaseOut(
        **_summary(row).model_dump(),
        description=row.description,
        grade=row.grade,
        grade_history=[
            {
                "at": g.at,
                "level": g.level,
                "score": g.score,
                "reasons": g.reasons,
                "tier": g.tier,
                "by": g.by,
                "actor": g.actor,
                "note": g.note,
            }
            for g in grades
        ],
        initial_tier=row.initial_tier,
        responsible={"unit": row.responsible_unit, "person": row.responsible_person},
        resolution=row.resolution,
        reply=row.reply_text,
        satisfaction=row.satisfaction,
        merged_into=str(row.merged_into) if row.merged_into else None,
        allowed_actions=_allowed_for(principal, row),
        deadlines=[deadline_out(d) for d in deadlines],
        whistles=[WhistleOut.of(w).model_dump() for w in whistles],
        notices=[notice_service.notice_out(n) for n in notices],
        location=row.location,
        occurred_at=row.occurred_at,
        people_involved=row.people_involved,
        amount_cny=str(row.amount_cny) if row.amount_cny is not None else None,
        flags=list(row.flags or []),
        attachments=list(row.attachments or []),
        reports=[ReportRef(id=str(r.report_id), report_no=r.report_no, received_at=r.received_at) for r in reports],
        parties=[mask_party(cipher, p) for p in row.parties or []],
        timeline=[
            {
                "at": t.at,
                "actor": t.actor,
                "centre": t.centre,
                "action": t.action,
                "from": t.from_state,
                "to": t.to_state,
                "note": t.note,
            }
            for t in timeline
        ],
    )


def _allowed_for(principal: Principal, row: CaseRow) -> list[str]:
    """The actions of the case's state; a centre below the handling centre only reports progress."""
    allowed = allowed_actions(row.state)
    if principal.role == "dispatcher" and not centre.may_decide(principal, row.area_path, row.handling or []):
        return [a for a in allowed if a == "update"]
    return allowed


def plain_party(cipher: PiiCipher, p: dict[str, Any]) -> PartyOut:
    return PartyOut(
        name=p.get("name"),
        role=p.get("role"),
        relation=p.get("relation"),
        id_number=cipher.decrypt(p.get("id_number_enc")),
        phone=cipher.decrypt(p.get("phone_enc")),
    )


async def reveal_parties(
    session: AsyncSession, principal: Principal, case_id: uuid.UUID, cipher: PiiCipher, reason: str | None
) -> PartiesRevealed:
    """A case's parties unmasked (to phone them within the hour): only a centre's dispatcher (or an admin)
    in scope may, with a reason; every look is a timeline entry and an audit log entry (kept at least six
    months). Nothing here is logged."""
    reason = (reason or "").strip()
    case = await load_for_action(session, principal, case_id)  # 404 out of scope, 403 for a leader
    if not reason:
        raise RevealReasonRequired(REVEAL_REASON_LOC)
    parties = list(case.parties or [])
    await repo.add_timeline_entries(
        session,
        [
            TimelineEntry(
                case.id,
                clock.now(),
                actor_name(principal),
                "reveal_parties",
                case.state,
                case.state,
                f"查看当事人完整信息（{len(parties)} 人）",
            )
        ],
    )
    await audit.record(session, principal, "reveal_parties", "case", str(case.id), reason, {"case_number": case.number})
    return PartiesRevealed(
        case_id=str(case.id), case_number=case.number, parties=[plain_party(cipher, p) for p in parties]
    )


async def any_case_visible(session: AsyncSession, report_ids: list[uuid.UUID], scope: dict[str, Any]) -> bool:
    """Is any case made of these reports in the scope? (the internal case-access question)"""
    return await repo.any_case_visible(session, report_ids, scope)


async def ledger_page(
    session: AsyncSession,
    scope: dict[str, Any],
    filters: dict[str, Any],
    after: tuple[datetime, uuid.UUID] | None,
    size: int,
) -> list[CaseRow]:
    """One page of the cases a scope sees under a filter, newest first (the ledger 台账 reads them so)."""
    return await repo.list_cases(session, scope, filters, after, size)
