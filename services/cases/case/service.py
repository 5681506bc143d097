"""Cases: made from reports (exactly one per report), read by those whose area contains them, their
parties revealed to a dispatcher on the record, their timeline appended to."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.cases.audit import service as audit
from services.cases.case import centre, effects
from services.cases.case import repository as repo
from services.cases.case.domain import CaseDomain, grade_record
from services.cases.case.exceptions import (
    REVEAL_REASON_LOC,
    CaseNotFound,
    DeskAreaOutOfScope,
    ExternalRefRequired,
    LeaderReadOnly,
    NoCaseScope,
    RevealReasonRequired,
    WorkOrderRegistered,
)
from services.cases.case.machine import allowed_actions
from services.cases.case.models import CaseRow
from services.cases.case.schemas import (
    CaseOut,
    CasePage,
    CaseSummary,
    DeskCaseIn,
    DeskParty,
    PartiesRevealed,
    PartyOut,
    RelatedCase,
    ReportRef,
    TimelineEntry,
)
from services.cases.category import service as categories
from services.cases.db import outbox
from services.cases.deadline import service as deadline_svc
from services.cases.document import service as document_service
from services.cases.grading import GradingFacts
from services.cases.idempotency.service import once
from services.cases.notice import service as notice_service
from services.cases.org import service as org_service
from services.cases.principal import actor_name
from services.cases.subject import service as subjects
from services.cases.vocabulary import CHANNEL_ZH
from services.cases.whistle import service as whistle_service
from services.cases.whistle.schemas import WhistleOut
from shared.auth import Principal, in_scope
from shared.clock import china_date_str, clock
from shared.contracts.events import REPORT_STATUS, PartyWire, ReportSubmitted
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


@dataclass(frozen=True)
class NewCase:
    """What a new case is made of, whichever way it came in: a grid worker's report (channel `grid`) or the
    centre's desk (来访 visit · 来电 phone · 来信 letter · 12345 hotline_12345 · 网上 online)."""

    kind: str
    category: str | None
    title: str | None
    description: str | None
    area_code: str
    parties: list[PartyWire]
    people_involved: int | None
    amount_cny: str | None
    flags: list[str]
    location: dict[str, Any] | None
    attachments: list[str]
    occurred_at: datetime | None
    channel: str = "grid"
    reporter_id: str | None = None
    external_ref: str | None = None
    registered_by: str | None = None


async def _insert(session: AsyncSession, new: NewCase, now: datetime) -> tuple[uuid.UUID, str]:
    path = (await org_service.area_paths(session, [new.area_code])).get(new.area_code) or [new.area_code]
    case_id = uuid.uuid4()
    number = await repo.insert_case(
        session,
        {
            "id": case_id,
            "state": RECEIVED,
            "kind": new.kind,
            "category": new.category,
            "title": new.title,
            "description": new.description,
            "area_code": new.area_code,
            "area_path": path,
            "reporter_id": new.reporter_id,
            "parties": [p.model_dump() for p in new.parties],
            "people_involved": new.people_involved,
            "amount_cny": new.amount_cny,
            "flags": new.flags,
            "location": new.location,
            "attachments": new.attachments,
            "occurred_at": new.occurred_at,
            "channel": new.channel,
            "external_ref": new.external_ref,
            "registered_by": new.registered_by,
            "now": now,
        },
        china_date_str(now),
    )
    return case_id, number


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
    new = NewCase(
        kind=report.kind,
        category=report.category,
        title=report.title,
        description=report.description,
        area_code=report.grid or "",
        parties=list(report.parties),
        people_involved=report.people_involved,
        amount_cny=report.amount_cny,
        flags=report.flags,
        location=report.location,
        attachments=report.attachments,
        occurred_at=datetime.fromisoformat(report.occurred_at) if report.occurred_at else None,
        channel=channel,
        reporter_id=report.worker_id,
    )
    case_id, number = await _insert(session, new, now)
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
        level = await _receive(session, domain, case_id, new, now)
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


def desk_parties(cipher: PiiCipher, parties: Sequence[DeskParty]) -> list[PartyWire]:
    """The parties a dispatcher wrote down, as every case keeps them: ID number and phone encrypted, with
    their keyed hashes (the only way cases are matched by person)."""
    return [
        PartyWire(
            name=p.name,
            role=p.role,
            relation=p.relation,
            id_number_enc=cipher.encrypt(p.id_number),
            id_number_hash=cipher.lookup_hash("id_number", p.id_number),
            phone_enc=cipher.encrypt(p.phone),
            phone_hash=cipher.lookup_hash("phone", p.phone),
        )
        for p in parties
    ]


async def _desk_area(session: AsyncSession, principal: Principal, code: str) -> None:
    """The area of a desk registration: one the directory knows and has not retired, in the dispatcher's
    scope (one message for all, so the answer says nothing about areas elsewhere)."""
    path = await org_service.live_area_path(session, code)
    if path is None or (principal.role != "admin" and not set(path) & set(principal.areas)):
        raise DeskAreaOutOfScope(("body", "area"))


async def register_at_desk(
    session: AsyncSession, domain: CaseDomain, cipher: PiiCipher, principal: Principal, body: DeskCaseIn
) -> uuid.UUID:
    """A matter brought to the centre (来访 · 来电 · 来信 · 12345 · 网上) made a case the same way as a phone's
    report: its parties matched, graded by the rules, its tier set and its clocks started (the contact
    clock for the person who raised it; the reply clock at resolution). Bad input stores nothing."""
    if body.channel == "hotline_12345" and not body.external_ref:
        raise ExternalRefRequired(("body", "external_ref"))
    await categories.check(session, body.kind, body.category, ("body", "category"))
    await _desk_area(session, principal, body.area)
    if body.channel == "hotline_12345" and body.external_ref:
        known = await repo.case_of_work_order(session, body.external_ref)
        if known is not None:
            visible = principal.role == "admin" or in_scope(known.area_path, principal.areas)
            raise WorkOrderRegistered(
                body.external_ref, str(known.id) if visible else None, known.number if visible else None
            )
    now = clock.now()
    actor = actor_name(principal)
    new = NewCase(
        kind=body.kind,
        category=body.category,
        title=body.title,
        description=body.description,
        area_code=body.area,
        parties=desk_parties(cipher, body.parties),
        people_involved=body.people_involved,
        amount_cny=str(body.amount_cny) if body.amount_cny is not None else None,
        flags=list(body.flags),
        location=body.location.model_dump() if body.location else None,
        attachments=[],
        occurred_at=body.occurred_at,
        channel=body.channel,
        external_ref=body.external_ref,
        registered_by=actor,
    )
    case_id, _ = await _insert(session, new, now)
    note = f"{CHANNEL_ZH[body.channel]}登记，已受理" + (f"（工单号 {body.external_ref}）" if body.external_ref else "")
    data = {"channel": body.channel, "external_ref": body.external_ref} if body.external_ref else None
    await repo.add_timeline_entries(
        session, [TimelineEntry(case_id, now, actor, "receive", None, RECEIVED, note, data)]
    )
    await _receive(session, domain, case_id, new, now)
    return case_id


async def register_once(
    session: AsyncSession,
    domain: CaseDomain,
    cipher: PiiCipher,
    principal: Principal,
    body: DeskCaseIn,
    idempotency_key: str | None,
) -> Any:
    """POST /v1/cases under Idempotency-Key: a retry with the same key and body gets the first case (one
    case stored); the same key with another body is 422. Answers the case's JSON."""

    async def run() -> Any:
        case_id = await register_at_desk(session, domain, cipher, principal, body)
        return (await get_case(session, principal, case_id, cipher)).model_dump(mode="json")

    request = {"register": body.model_dump(mode="json")}
    return await once(session, actor_name(principal), idempotency_key, request, run)


def applicant_of(case: CaseRow) -> dict[str, Any] | None:
    """The person who raised a desk case: the party with role `applicant`, else the first party. Its
    encrypted phone goes to notify with the reply (SMS to a phone-channel applicant)."""
    parties = list(case.parties or [])
    chosen = next((p for p in parties if p.get("role") == "applicant"), parties[0] if parties else None)
    if chosen is None or not chosen.get("phone_enc"):
        return None
    return {"name": chosen.get("name"), "phone_enc": chosen["phone_enc"], "phone_hash": chosen.get("phone_hash")}


async def _receive(session: AsyncSession, domain: CaseDomain, case_id: uuid.UUID, new: NewCase, now: datetime) -> str:
    """A new case: its parties become subjects (matched by keyed hash, never by name), the rules grade
    it, and its first clocks start (contact; major_report for a major case)."""
    parties = [subjects.Party([k for k in (p.id_number_hash, p.phone_hash) if k], p.name, p.role) for p in new.parties]
    subject_ids = await subjects.match_parties(session, case_id, parties, new.area_code, now)
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
    await subjects.refresh_risk(session, case, subject_ids, now, policy=domain.risk)
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


def _as_stored(amount: str | None) -> Decimal | None:
    """An amount as the case row keeps it (numeric(14, 2)): what one by one grades on, read back."""
    return Decimal(amount).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP) if amount is not None else None


def _parties(report: ReportSubmitted) -> list[subjects.Party]:
    return [subjects.Party([k for k in (p.id_number_hash, p.phone_hash) if k], p.name, p.role) for p in report.parties]


async def create_from_reports(
    session: AsyncSession, reports: Sequence[ReportSubmitted], domain: CaseDomain, channel: str = "grid"
) -> list[uuid.UUID | None]:
    """`create_from_report` for many reports at once, with the same effect as one after another in the order
    given, in a handful of statements whatever their number. Reports that share a person (a key, or the
    subject a key is known by) are made in successive waves, so that each one sees the cases of the earlier
    ones as it would have one by one (grading on the parties' history, links, risk); case numbers, risk
    warnings, the timeline's and the outbox's order follow the reports' order all the same. Returns each
    report's new case (None: it was in a case already, or is given twice)."""
    ids = [uuid.UUID(r.report_id) for r in reports]
    done = await repo.cases_for_reports(session, ids)
    todo = list({rid: r for rid, r in zip(ids, reports, strict=True) if rid not in done}.items())
    seqs = dict(zip((rid for rid, _ in todo), await repo.take_numbers(session, len(todo)), strict=True))
    now = clock.now()
    made: dict[uuid.UUID, _Made] = {}
    remaining = todo
    while remaining:
        keys = list(dict.fromkeys(k for _, r in remaining for p in _parties(r) for k in p.keys))
        known = await subjects.known_subjects(session, keys)
        wave: list[tuple[uuid.UUID, ReportSubmitted]] = []
        later: list[tuple[uuid.UUID, ReportSubmitted]] = []
        taken: set[Any] = set()
        for rid, r in remaining:
            mine = {k for p in _parties(r) for k in p.keys}
            tokens: set[Any] = mine | {known[k] for k in mine if k in known}
            (later if tokens & taken else wave).append((rid, r))
            taken |= tokens
        made.update(await _create_wave(session, wave, seqs, domain, known, channel, now))
        remaining = later
    ordered = [made[rid] for rid, _ in todo]
    # risk warnings in the reports' order (their numbers count up so one by one)
    await subjects.warn_many(session, [(m.case, subject) for m in ordered for subject in m.newly_high], now)
    await repo.add_timeline_entries(
        session,
        [
            TimelineEntry(
                m.case.id,
                now,
                "system:rules",
                "link",
                RECEIVED,
                RECEIVED,
                f"当事人在 {len(m.linked)} 起其他案件中出现，已关联",
                {"linked": [str(c) for c in m.linked]},
            )
            for m in ordered
            if m.linked
        ],
    )
    reporters = await repo.reporters_of(session, [m.case.id for m in ordered])
    events: list[Event] = []
    for m in ordered:
        who = {"responsible_person": m.case.responsible_person, "reporters": reporters.get(m.case.id, [])}
        payload = effects.case_payload(m.case) | {"grade": m.case.grade}
        types = ["case.received"] + (["case.major"] if m.case.level == "major" else [])
        events += [
            Event(type=t, aggregate_id=str(m.case.id), payload=payload | who, destinations=effects.NOTIFY)
            for t in types
        ]
    for m in ordered:
        events.append(
            Event(
                type=REPORT_STATUS,
                aggregate_id=str(m.case.id),
                payload={
                    "worker_id": m.report.worker_id,
                    "report_id": m.report.report_id,
                    "report_no": m.report.report_no,
                    "case_id": str(m.case.id),
                    "case_number": m.case.number,
                    "state": RECEIVED,
                    "level": m.case.level,
                    "reply": None,
                },
                destinations=("intake",),
            )
        )
    await publish(session, outbox, events)
    out: list[uuid.UUID | None] = []
    for i, rid in enumerate(ids):
        out.append(made[rid].case.id if rid in made and rid not in ids[:i] else None)
    return out


@dataclass
class _Made:
    report: ReportSubmitted
    case: Any
    newly_high: list[Any]
    linked: list[uuid.UUID]


async def _create_wave(
    session: AsyncSession,
    wave: list[tuple[uuid.UUID, ReportSubmitted]],
    seqs: dict[uuid.UUID, int],
    domain: CaseDomain,
    known: dict[str, uuid.UUID],
    channel: str,
    now: datetime,
) -> dict[uuid.UUID, _Made]:
    """New cases for reports no two of which share a subject: each step one statement for all of them."""
    grids = list(dict.fromkeys(r.grid or "" for _, r in wave))
    paths = await org_service.area_paths(session, grids)
    case_ids = [uuid.uuid4() for _ in wave]
    plans = [
        (cid, parties, r.grid, subjects.plan_parties(parties, known))
        for cid, (_, r) in zip(case_ids, wave, strict=True)
        for parties in [[p for p in _parties(r) if p.keys]]
    ]
    subject_ids = await subjects.match_planned(session, plans, now)
    of_case = list(zip(case_ids, subject_ids, strict=True))
    facts = await subjects.facts_of_new(session, of_case)
    rows: list[dict[str, Any]] = []
    for cid, (rid, r) in zip(case_ids, wave, strict=True):
        prior, open_, villages = facts.get(cid, (0, 0, 0))
        grade = grade_record(
            domain.rules.grade(
                GradingFacts(
                    kind=r.kind,
                    category=r.category,
                    flags=list(r.flags or []),
                    people_involved=r.people_involved,
                    amount_cny=_as_stored(r.amount_cny),
                    party_prior_cases=prior,
                    party_open_cases=open_,
                    party_villages=villages,
                    departments_needed=0,
                )
            )
        )
        grid = r.grid or ""
        rows.append(
            {
                "id": cid,
                "seq": seqs[rid],
                "kind": r.kind,
                "category": r.category,
                "title": r.title,
                "description": r.description,
                "area_code": grid,
                "area_path": paths.get(grid) or [grid],
                "reporter_id": r.worker_id,
                "parties": [p.model_dump() for p in r.parties],
                "people_involved": r.people_involved,
                "amount_cny": r.amount_cny,
                "flags": r.flags,
                "location": r.location,
                "attachments": r.attachments,
                "occurred_at": datetime.fromisoformat(r.occurred_at) if r.occurred_at else None,
                "grade": grade,
            }
        )
    handling = await centre.handling_for_many(
        session, [(r["area_path"], r["grade"]["tier"], r["grade"].get("joint_with")) for r in rows]
    )
    for row, centres in zip(rows, handling, strict=True):
        row["handling"] = centres
    cases = await repo.insert_graded_cases(session, rows, RECEIVED, channel, china_date_str(now), now)
    await repo.link_reports(
        session,
        [
            (rid, r.report_no, cid, r.worker_id, datetime.fromisoformat(r.received_at))
            for cid, (rid, r) in zip(case_ids, wave, strict=True)
        ],
    )
    await repo.add_timeline_entries(
        session,
        [
            TimelineEntry(
                cid, now, f"grid_worker:{r.worker_id}", "receive", None, RECEIVED, f"网格员上报 {r.report_no}，已受理"
            )
            for cid, (_, r) in zip(case_ids, wave, strict=True)
        ],
    )
    await repo.add_grades(
        session, [(cid, row["grade"]) for cid, row in zip(case_ids, rows, strict=True)], now, "system:rules"
    )
    await deadline_svc.start_new(session, domain.deadlines, [cases[cid] for cid in case_ids], "received", now)
    high: dict[uuid.UUID, list[Any]] = {}
    for cid, subject in await subjects.newly_high_of_new(session, of_case, now, domain.risk):
        high.setdefault(cid, []).append(subject)
    linked = await subjects.linked_cases_of_new(session, of_case)
    return {
        rid: _Made(r, cases[cid], high.get(cid, []), linked.get(cid, []))
        for cid, (rid, r) in zip(case_ids, wave, strict=True)
    }


def _summary(r: CaseRow, related: list[RelatedCase] | None = None) -> CaseSummary:
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
        channel=getattr(r, "channel", None) or "grid",
        external_ref=getattr(r, "external_ref", None),
        related_cases=related or [],
    )


def party_keys(cipher: PiiCipher, value: str | None) -> list[str] | None:
    """The keyed hashes a party search looks for: the value as an ID number and as a phone (whichever it
    is matches; the other hashes to nothing known). Never a name."""
    if not value or not value.strip():
        return None
    return [h for h in (cipher.lookup_hash("id_number", value), cipher.lookup_hash("phone", value)) if h]


async def related_cases(
    session: AsyncSession, scope: dict[str, Any], case_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[RelatedCase]]:
    """For each case, the other cases sharing a party with it (the links grading finds), in `scope`."""
    rows = await repo.related_cases(session, scope, case_ids)
    out: dict[uuid.UUID, list[RelatedCase]] = {}
    for r in rows:
        out.setdefault(r.of_case, []).append(RelatedCase(id=str(r.id), number=r.number, state=r.state, level=r.level))
    return out


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
    related = await related_cases(session, scope, [r.id for r in rows])
    if filters.get("party_keys") or filters.get("party_name"):
        # a look-up of one person's cases is a look at personal data: who searched, by what (the keyed hashes,
        # never the number itself) and how many cases the page showed
        by = {"party_keys": filters["party_keys"]} if filters.get("party_keys") else {"party_name_prefix": True}
        await audit.record(session, principal, "search_party", "case", None, None, {**by, "found": len(rows)})
    return CasePage(
        items=[_summary(r, related.get(r.id)) for r in rows],
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
    scope = scope_of(principal)
    row = await repo.get_case(session, case_id, scope)
    if row is None:
        raise CaseNotFound()
    related = (await related_cases(session, scope, [case_id])).get(case_id)
    documents = await document_service.documents_of_case(session, case_id)
    reports = await repo.reports_of(session, case_id)
    timeline = await repo.timeline_of(session, case_id)
    deadlines = await deadline_svc.deadlines_of_case(session, case_id)
    whistles = await whistle_service.whistles_of_case(session, case_id)
    notices = await notice_service.notices_of_case(session, case_id)
    grades = await repo.grades_of(session, case_id)
    return CaseOut(
        **_summary(row, related).model_dump(),
        registered_by=row.registered_by,
        documents=[document_service.document_out(d) for d in documents],
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
        deferral=row.deferral,
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


async def any_of_cases_visible(session: AsyncSession, case_ids: list[uuid.UUID], scope: dict[str, Any]) -> bool:
    """Is any of these cases in the scope? (the case-access question for a case document)"""
    return await repo.any_of_cases_visible(session, case_ids, scope)


async def ledger_page(
    session: AsyncSession,
    scope: dict[str, Any],
    filters: dict[str, Any],
    after: tuple[datetime, uuid.UUID] | None,
    size: int,
) -> list[CaseRow]:
    """One page of the cases a scope sees under a filter, newest first, with the columns the ledger 台账
    keeps besides the list's (parties, outcome, responsible unit, departments, satisfaction)."""
    return await repo.list_cases(session, scope, filters, after, size, ledger=True)


async def rehome_unstaffed(session: AsyncSession, now: datetime) -> int:
    """After the directory changed: an open case whose handling centre has no active dispatcher any more goes
    to the centre that handles it now (the next staffed one up), with a timeline entry, so no case is left in
    a queue nobody reads. A centre newly staffed takes no case from above: cases move up, never silently down.
    Returns the cases handed on."""
    found = await repo.lock_open_cases_with_unstaffed_handling(session)
    if not found:
        return 0
    computed = await centre.handling_for_many(
        session, [(r.area_path, r.tier, (r.grade or {}).get("joint_with")) for r in found]
    )
    names = await org_service.area_names(session, sorted({c for r in found for c in r.area_path}))
    changes: list[tuple[uuid.UUID, list[str]]] = []
    entries: list[TimelineEntry] = []
    for r, new in zip(found, computed, strict=True):
        old = list(r.handling or [])
        if not new or new == old:
            continue
        changes.append((r.id, new))
        before = "、".join(f"{names.get(c, c)}综治中心" for c in old)
        after = "、".join(f"{names.get(c, c)}综治中心" for c in new)
        entries.append(
            TimelineEntry(
                r.id,
                now,
                "system:directory",
                "handover",
                r.state,
                r.state,
                f"{before}已无在岗调度员，案件移交{after}办理",
                {"from": old, "to": new},
            )
        )
    await repo.set_handling(session, changes, now)
    await repo.add_timeline_entries(session, entries)
    return len(changes)
