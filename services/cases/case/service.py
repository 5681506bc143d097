"""Cases: made from reports (exactly one per report), read by those whose area contains them."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import datetime
from typing import Any

from services.cases.case import effects
from services.cases.case import repository as repo
from services.cases.case.actions import actor_name, perform
from services.cases.case.domain import CaseDomain, facts_for, grade_record
from services.cases.case.machine import STATE_ZH, allowed_actions
from services.cases.case.schemas import CaseOut, CasePage, CaseSummary, PartyOut, ReportRef
from services.cases.db import outbox
from services.cases.deadline import repository as deadline_repo
from services.cases.deadline import service as clocks_svc
from services.cases.idempotency.service import once
from services.cases.notice import repository as notice_repo
from services.cases.notice.service import notice_out
from services.cases.org import repository as org_repo
from services.cases.subject import repository as subjects
from services.cases.subject.service import refresh_risk
from services.cases.whistle import repository as whistle_repo
from services.cases.whistle.service import whistle_out
from shared.auth import Principal
from shared.clock import china_date_str, clock
from shared.contracts.events import REPORT_STATUS, ReportSubmitted
from shared.errors import NotFound
from shared.outbox import Event, publish
from shared.paging import decode_cursor, encode_cursor
from shared.pii import PiiCipher, mask_id_number, mask_phone
from shared.xlsx import Workbook

RECEIVED = "received"


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
    raise NotFound()


async def create_from_report(
    session: Any,
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
    path = (await org_repo.area_paths(session, [grid])).get(grid) or [grid]
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
    await repo.add_timeline(
        session,
        case_id,
        now,
        f"grid_worker:{report.worker_id}",
        "receive",
        None,
        RECEIVED,
        f"网格员上报 {report.report_no}，已受理",
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


async def _receive(session: Any, domain: CaseDomain, case_id: uuid.UUID, report: ReportSubmitted, now: datetime) -> str:
    """A new case: its parties become subjects (matched by keyed hash, never by name), the rules grade
    it, and its first clocks start (contact; major_report for a major case)."""
    parties = [
        subjects.Party([k for k in (p.id_number_hash, p.phone_hash) if k], p.name, p.role) for p in report.parties
    ]
    subject_ids = await subjects.upsert_parties(session, case_id, parties, report.grid, now)
    case = await repo.lock_case(session, case_id)
    grade = grade_record(domain.rules.grade(await facts_for(session, case)))
    await repo.add_grade(session, case_id, now, grade, "system:rules", None)
    case = await repo.update_case(
        session,
        case_id,
        now,
        grade=grade,
        level=grade["level"],
        tier=grade["tier"],
        initial_tier=grade["tier"],
        inform_county=bool(grade["inform_county"]),
    )
    await clocks_svc.start(session, domain.clocks, case, "received", now)
    await refresh_risk(session, case, subject_ids, now)
    linked = await subjects.linked_cases(session, subject_ids, case_id)
    if linked:
        await repo.add_timeline(
            session,
            case_id,
            now,
            "system:rules",
            "link",
            RECEIVED,
            RECEIVED,
            f"当事人在 {len(linked)} 起其他案件中出现，已关联",
            {"linked": [str(c) for c in linked]},
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


def _summary(r: Any) -> CaseSummary:
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
        created_at=r.created_at,
        updated_at=r.updated_at,
    )


async def list_cases(
    session: Any, principal: Principal, filters: dict[str, Any], cursor: str | None, limit: int
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


async def get_case(session: Any, principal: Principal, case_id: uuid.UUID, cipher: PiiCipher) -> CaseOut:
    row = await repo.get_case(session, case_id, scope_of(principal))
    if row is None:
        raise NotFound("案件不存在")
    reports = await repo.reports_of(session, case_id)
    timeline = await repo.timeline_of(session, case_id)
    deadlines = await deadline_repo.of_case(session, case_id)
    whistles = await whistle_repo.of_case(session, case_id)
    notices = await notice_repo.of_case(session, case_id)
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
        allowed_actions=allowed_actions(row.state),
        deadlines=[deadline_out(d) for d in deadlines],
        whistles=[whistle_out(w) for w in whistles],
        notices=[notice_out(n) for n in notices],
        location=row.location,
        occurred_at=row.occurred_at,
        people_involved=row.people_involved,
        amount_cny=str(row.amount_cny) if row.amount_cny is not None else None,
        flags=list(row.flags or []),
        attachments=list(row.attachments or []),
        reports=[ReportRef(id=str(r.report_id), report_no=r.report_no, received_at=r.received_at) for r in reports],
        parties=[mask_party(cipher, p) for p in row.parties or []],
        timeline=[
            {"at": t.at, "actor": t.actor, "action": t.action, "from": t.from_state, "to": t.to_state, "note": t.note}
            for t in timeline
        ],
    )


async def act(
    session: Any,
    domain: CaseDomain,
    cipher: PiiCipher,
    principal: Principal,
    case_id: uuid.UUID,
    action: str,
    body: Any,
    idempotency_key: str | None,
) -> Any:
    """Perform one action under Idempotency-Key; answer with the case as it now is."""

    async def run() -> Any:
        await perform(session, domain, principal, case_id, action, body)
        out = await get_case(session, principal, case_id, cipher)
        return out.model_dump(mode="json")

    request = {"case": str(case_id), "action": action, "body": body.model_dump(mode="json")}
    return await once(session, actor_name(principal), idempotency_key, request, run)


LEDGER_COLUMNS = ["案件编号", "状态", "类型", "类别", "标题", "网格", "层级", "等级", "受理时间", "更新时间"]


def _ledger_row(r: Any) -> list[str]:
    return [
        r.number,
        STATE_ZH.get(r.state, r.state),
        r.kind,
        r.category or "",
        r.title or "",
        r.area_code,
        r.tier or "",
        r.level or "",
        r.created_at.isoformat(),
        r.updated_at.isoformat(),
    ]


def ledger_csv(db: Any, principal: Principal, filters: dict[str, Any]) -> Any:
    """The ledger (台账) as CSV, streamed page by page in short transactions, any size. The caller's
    scope is checked before the first byte is sent."""
    return _ledger_rows(db, scope_of(principal), filters)


async def _ledger_rows(db: Any, scope: dict[str, Any], filters: dict[str, Any]) -> Any:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(LEDGER_COLUMNS)
    yield "\ufeff" + buf.getvalue()
    async for rows in _ledger_pages(db, scope, filters):
        buf = io.StringIO()
        writer = csv.writer(buf)
        for r in rows:
            writer.writerow(_ledger_row(r))
        yield buf.getvalue()


async def _ledger_pages(db: Any, scope: dict[str, Any], filters: dict[str, Any], size: int = 1000) -> Any:
    """The ledger's cases page by page, each page in its own short unit of work (any size, no long transaction)."""
    after = None
    while True:
        async with db.unit_of_work() as session:
            rows = await repo.list_cases(session, scope, filters, after, size)
        if not rows:
            return
        yield rows
        after = (rows[-1].created_at, rows[-1].id)


def ledger_xlsx(db: Any, principal: Principal, filters: dict[str, Any]) -> Any:
    """The ledger (台账) as .xlsx: the same filter and columns as the CSV, built page by page."""
    return _ledger_xlsx(db, scope_of(principal), filters)


async def _ledger_xlsx(db: Any, scope: dict[str, Any], filters: dict[str, Any]) -> Any:
    book = Workbook("台账")
    book.add(LEDGER_COLUMNS)
    async for rows in _ledger_pages(db, scope, filters):
        for r in rows:
            book.add(_ledger_row(r))
    for chunk in book.chunks():
        yield chunk
