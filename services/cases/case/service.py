"""Cases: made from reports (exactly one per report), read by those whose area contains them."""
from __future__ import annotations

import base64
import uuid
from datetime import datetime
from typing import Any

import orjson

from services.cases.case import repository as repo
from services.cases.case.schemas import CaseOut, CasePage, CaseSummary, PartyOut, ReportRef
from services.cases.db import outbox
from services.cases.org import repository as org_repo
from shared.auth import Principal
from shared.clock import china_date_str, clock
from shared.contracts.events import REPORT_STATUS, ReportSubmitted
from shared.errors import NotFound, Unprocessable
from shared.outbox import Event, publish
from shared.pii import PiiCipher, mask_id_number, mask_phone

RECEIVED = "received"


def scope_of(principal: Principal) -> dict[str, Any]:
    """Which cases a caller may see. Centres and leaders: their area subtrees. Departments: only
    cases whistled to them (吹哨), of which there are none until a whistle exists. Grid workers use the
    phone API only."""
    if principal.role == "admin":
        return {"all": True, "areas": ()}
    if principal.role in ("dispatcher", "leader"):
        return {"all": False, "areas": principal.areas}
    if principal.role in ("department_staff", "department_system"):
        return {"all": False, "areas": ()}
    raise NotFound()


async def create_from_report(session: Any, report: ReportSubmitted) -> uuid.UUID | None:
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
            "now": now,
        },
        china_date_str(now),
    )
    await repo.link_report(session, report_id, report.report_no, case_id, report.worker_id, datetime.fromisoformat(report.received_at))
    await repo.add_timeline(session, case_id, now, f"grid_worker:{report.worker_id}", "receive", None, RECEIVED, f"网格员上报 {report.report_no}，已受理")
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
                    "level": None,
                    "reply": None,
                },
                destinations=("intake",),
            )
        ],
    )
    return case_id


def _encode_cursor(at: datetime, case_id: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(orjson.dumps([at.isoformat(), str(case_id)])).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        at, cid = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        parsed = datetime.fromisoformat(at)
        if parsed.tzinfo is None:
            raise ValueError("naive")
        return parsed, uuid.UUID(cid)
    except (ValueError, TypeError, orjson.JSONDecodeError):
        raise Unprocessable(
            "分页游标无效", errors=[{"loc": ["query", "cursor"], "msg": "invalid cursor", "type": "value_error"}]
        ) from None


def _summary(r: Any) -> CaseSummary:
    return CaseSummary(
        id=str(r.id), number=r.number, state=r.state, kind=r.kind, category=r.category, title=r.title,
        area=r.area_code, tier=r.tier, level=r.level, created_at=r.created_at, updated_at=r.updated_at,
    )


async def list_cases(session: Any, principal: Principal, filters: dict[str, Any], cursor: str | None, limit: int) -> CasePage:
    scope = scope_of(principal)
    after = _decode_cursor(cursor) if cursor else None
    rows = await repo.list_cases(session, scope, filters, after, limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return CasePage(
        items=[_summary(r) for r in rows],
        next_cursor=_encode_cursor(rows[-1].created_at, rows[-1].id) if more and rows else None,
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
    return CaseOut(
        **_summary(row).model_dump(),
        description=row.description,
        grade=None,
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
