"""The sweep: every due step of every clock fires once — warnings, breach, then the ladder (remind →
supervision notice → one tier up). Rows are claimed with FOR UPDATE SKIP LOCKED together with their
case, and each step's effect, timeline entry and events commit in the claim's transaction, so any
number of replicas can sweep and a killed sweep redoes nothing twice. Time comes from the clock only."""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.cases.case import effects
from services.cases.case import service as case_service
from services.cases.case.action.grading import escalate_case
from services.cases.case.schemas import TimelineEntry
from services.cases.db import outbox
from services.cases.deadline import repository as repo
from services.cases.deadline.service import DeadlineEngine, DeadlineRow, RetimeRound, retimed_row
from services.cases.notice import service as notices
from services.cases.notice.service import KIND_ZH
from shared.clock import CHINA_TZ, clock
from shared.db import Database
from shared.outbox import Event, publish

log = logging.getLogger("cases.sweep")


def _deadline_payload(
    case: Any,
    d: Any,
    step: str,
    fired_at: datetime,
    cache: dict[Any, dict[str, Any]] | None = None,
    reporters: dict[Any, list[str]] | None = None,
) -> dict[str, Any]:
    """The event body of a fired step. Within a sweep round the case's and the clock's parts are built
    once (a round may fire several steps of one clock); `cache` is that round's; `reporters`: case → the
    usernames of its reporting grid workers (notify reaches them and the responsible person)."""
    reporters = reporters or {}
    key = (d.id, case.tier, case.state)
    base = cache.get(key) if cache is not None else None
    if base is None:
        base = (
            effects.case_payload(case)
            | {"responsible_person": case.responsible_person, "reporters": reporters.get(case.id, [])}
            | {
                "deadline_id": str(d.id),
                "deadline_kind": d.kind,
                "due_at": d.due_at.isoformat(),
                "department": d.department_code,
                "whistle_id": str(d.whistle_id) if d.whistle_id else None,
            }
        )
        if cache is not None:
            cache[key] = base
    return base | {"step": step, "fired_at": fired_at.isoformat()}


class _Batch:
    """Timeline rows, events and clock updates of the common steps, written set-wise at the end (or before
    a step that needs its own statements, so a case's entries keep their order)."""

    def __init__(self, engine: DeadlineEngine | None = None) -> None:
        self.timeline: list[TimelineEntry] = []
        self.events: list[Event] = []
        self.payloads: dict[Any, dict[str, Any]] = {}
        self.reporters: dict[Any, list[str]] = {}
        self.notices: dict[Any, Any] = {}  # the notices the round's notice_response clocks wait on
        self.engine = engine

    def add(self, case: Any, action: str, note: str, now: datetime, event_type: str, payload: dict[str, Any]) -> None:
        self.timeline.append(
            TimelineEntry(
                case_id=case.id,
                at=now,
                actor="system:clock",
                action=action,
                from_state=case.state,
                to_state=case.state,
                note=note,
            )
        )
        self.events.append(
            Event(type=event_type, aggregate_id=str(case.id), payload=payload, destinations=effects.NOTIFY)
        )

    async def flush(self, session: AsyncSession) -> None:
        if self.timeline:
            await case_service.add_timeline_entries(session, self.timeline)
        await publish(session, outbox, self.events)
        self.timeline, self.events = [], []


def _notice_part(notice: Any) -> dict[str, Any]:
    """What a notice_response clock's events say of the notice (whom notify tells: its unit, the unit's
    head, the issuer's leader)."""
    if notice is None:
        return {}
    return {
        "notice_id": str(notice.id),
        "number": notice.number,
        "notice_kind": notice.kind,
        "unit": notice.unit,
        "notice_area": notice.area_code,
        "subject": notice.subject,
        "issued_by": notice.issued_by,
    }


NOTICE_STEP_NOTE = {
    "remind": "已提醒{unit}：督办通知书{number}答复时限已于{due}届满",
    "head": "督办通知书{number}逾期未答复，已告知{unit}负责人",
    "leader": "督办通知书{number}逾期未答复，已报告发文单位领导",
}


async def _fire(
    session: AsyncSession, batch: _Batch, case: Any, d: Any, action: str, fraction: float, at: datetime, now: datetime
) -> Any:
    kind = KIND_ZH.get(d.kind, d.kind)
    notice = batch.notices.get(d.notice_id) if d.notice_id else None
    who = (notice.unit if notice is not None else None) or d.department_code or case.responsible_unit or "责任单位"
    due_local = d.due_at.astimezone(CHINA_TZ).strftime("%m月%d日%H:%M")
    if d.kind == "notice_response" and action in NOTICE_STEP_NOTE:
        number = notice.number if notice is not None else ""
        batch.add(
            case,
            f"notice_{action}" if action != "remind" else "remind",
            NOTICE_STEP_NOTE[action].format(unit=who, number=number, due=due_local),
            now,
            "deadline.reminded",
            _deadline_payload(case, d, action, at, batch.payloads, batch.reporters) | _notice_part(notice),
        )
        return case
    extra: dict[str, Any] = {}
    if d.kind == "notice_response":  # its warnings and breach name the notice too
        extra = _notice_part(notice)
        kind = f"督办通知书{notice.number if notice is not None else ''}答复"
    if action == "warning":
        batch.add(
            case,
            "deadline_warning",
            f"{kind}时限已过{round(fraction * 100)}%，将于{due_local}到期（{who}）",
            now,
            "deadline.warning",
            _deadline_payload(case, d, "warning", at, batch.payloads, batch.reporters) | {"fraction": fraction} | extra,
        )
        return case
    if action == "breach":
        batch.add(
            case,
            "deadline_breached",
            f"{kind}时限已于{due_local}届满未完成（{who}）",
            now,
            "deadline.breached",
            _deadline_payload(case, d, "breach", at, batch.payloads, batch.reporters) | extra,
        )
        return case
    if action == "remind":
        batch.add(
            case,
            "remind",
            f"已提醒{who}：{kind}时限已超期",
            now,
            "deadline.reminded",
            _deadline_payload(case, d, "remind", at, batch.payloads, batch.reporters),
        )
        return case
    await batch.flush(session)  # the steps below write their own rows; keep the case's order
    if action == "notice":
        notice = await notices.issue_supervision(session, case, d, now, batch.engine)
        await effects.record(
            session,
            case,
            actor="system:clock",
            action="notice",
            before=case.state,
            after=case.state,
            note=f"发出督办通知书 {notice['number']}（{notice['unit']}）",
            now=now,
            events=[
                (
                    "notice.issued",
                    _deadline_payload(case, d, "notice", at)
                    | {
                        "notice_id": str(notice["id"]),
                        "number": notice["number"],
                        "notice_kind": "supervision",
                        "unit": notice["unit"],
                        "notice_area": notice["area_code"],
                        "subject": notice["subject"],
                        "respond_by": notice["respond_by"].isoformat(),
                    },
                )
            ],
        )
    elif action == "escalate":
        if await case_service.escalated_by_clock_since(session, case.id, d.due_at):
            # several clocks of one case breached in one episode: the case goes up one tier, not one per clock
            await effects.record(
                session,
                case,
                actor="system:clock",
                action="escalation_held",
                before=case.state,
                after=case.state,
                note=f"{kind}时限超期；本案已因超期提级，不再重复提级",
                now=now,
                events=[],
            )
        elif case.tier != "county":
            case = await escalate_case(session, case, "system:clock", f"{kind}时限超期未办，按规定提级", now)
        else:
            await effects.record(
                session,
                case,
                actor="system:clock",
                action="escalate",
                before=case.state,
                after=case.state,
                note=f"{kind}时限超期未办，已在县级，报告领导",
                now=now,
                events=[
                    (
                        "case.escalated",
                        effects.case_payload(case) | {"from_tier": "county", "to_tier": "county", "reason": "deadline"},
                    )
                ],
            )
    return case


async def sweep_once(db: Database, engine: DeadlineEngine, batch: int = 500) -> int:
    """One claim-and-fire transaction; returns the number of steps fired."""
    now = clock.now()
    fired = 0
    async with db.unit_of_work() as session:
        # claim the due clocks, then their cases (skipping any case an action holds right now: its clocks
        # fire at the next tick)
        claimed = await repo.claim_due(session, now, batch)
        if not claimed:
            return 0
        locked = await case_service.lock_unheld_cases(session, list({r.case_id for r in claimed}))
        ids = [r.id for r in claimed if r.case_id in locked]
        if not ids:
            return 0
        rows = await repo.by_ids(session, ids)
        cases = await case_service.cases_by_ids(session, list(locked))
        buffer = _Batch(engine)
        buffer.reporters = await case_service.reporters_of(session, list(locked))
        buffer.notices = await notices.notices_by_ids(session, [d.notice_id for d in rows if d.notice_id])
        updates = []
        for d in rows:
            data = dict(d._mapping)
            step = d.next_step
            case = cases[d.case_id]
            breached_at = d.breached_at
            steps = engine.steps_for(d.kind)
            while step < len(steps):
                at = engine.fire_time(DeadlineRow(data), step)
                if at is None or at > now:
                    break
                s = steps[step]
                case = await _fire(session, buffer, case, d, s.action, s.fraction, at, now)
                if s.action == "breach":
                    breached_at = at
                step += 1
                fired += 1
            cases[d.case_id] = case
            state = "breached" if breached_at is not None and d.met_at is None else d.state
            updates.append(
                {
                    "id": d.id,
                    "next_step": step,
                    "next_fire_at": engine.fire_time(DeadlineRow(data), step),
                    "state": state,
                    "breached_at": breached_at,
                }
            )
        await buffer.flush(session)
        await repo.set_progress(session, updates)
    return fired


async def sweep(db: Database, engine: DeadlineEngine, batch: int = 500, max_rounds: int = 20) -> int:
    total = 0
    for _ in range(max_rounds):
        n = await sweep_once(db, engine, batch)
        total += n
        if n == 0:
            break
    return total


async def retime_round(
    session: AsyncSession,
    engine: DeadlineEngine,
    now: datetime,
    after: uuid.UUID | None,
    batch: int,
    only: uuid.UUID | None = None,
) -> RetimeRound:
    """Re-time the clocks of up to `batch` cases whose pending clocks were timed on an estimated calendar
    day (a year whose official calendar was not known): cases are claimed skipping any an action holds,
    their clocks locked, each one whose timing changes updated set-wise with an entry on its case's
    timeline. Any number of replicas may run this at once: a case is re-timed by whoever holds it, and a
    clock already re-timed on the same calendar does not change again."""
    candidates = [only] if only is not None else await repo.provisional_cases(session, after, batch)
    if not candidates:
        return RetimeRound(0, [], None)
    locked = await case_service.lock_unheld_cases(session, candidates)
    skipped = [c for c in candidates if c not in locked]
    if not locked:
        return RetimeRound(0, skipped, candidates[-1])
    cases = await case_service.cases_by_ids(session, list(locked))
    updates, entries = [], []
    for d in await repo.provisional_of(session, sorted(locked)):
        change = retimed_row(engine, d, now)
        if change is None:
            continue
        updates.append(change)
        kind = KIND_ZH.get(d.kind, d.kind)
        old = d.due_at.astimezone(CHINA_TZ).strftime("%Y年%m月%d日%H:%M")
        new = change["due_at"].astimezone(CHINA_TZ).strftime("%Y年%m月%d日%H:%M")
        if change["due_at"] != d.due_at:
            note = f"工作日历已按正式安排更新：{kind}时限到期时间由{old}调整为{new}"
        else:
            note = f"工作日历已按正式安排更新：{kind}时限到期时间{new}不变"
        if change["provisional"]:
            note += "（仍有日期为估算）"
        state = cases[d.case_id].state
        entries.append(
            TimelineEntry(
                d.case_id,
                now,
                "system:calendar",
                "deadline_retimed",
                state,
                state,
                note,
                {
                    "deadline_id": str(d.id),
                    "kind": d.kind,
                    "from": d.due_at.isoformat(),
                    "to": change["due_at"].isoformat(),
                    "provisional": change["provisional"],
                },
            )
        )
    await repo.set_timing(session, updates)
    if entries:
        await case_service.add_timeline_entries(session, entries)
    return RetimeRound(len(updates), skipped, candidates[-1])


async def retime(db: Database, engine: DeadlineEngine, batch: int = 200, retries: int = 3) -> int:
    """Re-time every pending clock timed on an estimated calendar day (at startup, after a calendar import
    and on the calendar refresh tick), one short transaction per claim; cases an action held are tried
    again a few times. Returns the clocks re-timed."""
    total: int = 0
    after: uuid.UUID | None = None
    held: list[uuid.UUID] = []
    while True:
        async with db.unit_of_work() as session:
            done = await retime_round(session, engine, clock.now(), after, batch)
        total += done.retimed
        held += done.skipped
        if done.last is None:
            break
        after = done.last
    for _ in range(retries):
        if not held:
            break
        await asyncio.sleep(0.05)
        again: list[uuid.UUID] = []
        for case_id in held:
            async with db.unit_of_work() as session:
                # just this case: the claim starts right before it
                done = await retime_one(session, engine, case_id)
            total += done.retimed
            again += done.skipped
        held = again
    if total:
        log.info("re-timed %d clocks on the workday calendar as it now is", total)
    return total


async def retime_one(session: AsyncSession, engine: DeadlineEngine, case_id: uuid.UUID) -> RetimeRound:
    """Re-time one case's estimated clocks (skipped again if an action still holds it)."""
    return await retime_round(session, engine, clock.now(), None, 1, only=case_id)


async def retime_in(session: AsyncSession, engine: DeadlineEngine, now: datetime, batch: int = 200) -> tuple[int, int]:
    """Re-time every estimated clock inside the caller's transaction (a calendar import: the new calendar
    and the clocks re-timed on it commit together). Returns (clocks re-timed, cases skipped because an
    action held them: the calendar refresh tick re-times those)."""
    total: int = 0
    skipped: int = 0
    after: uuid.UUID | None = None
    while True:
        done = await retime_round(session, engine, now, after, batch)
        total += done.retimed
        skipped += len(done.skipped)
        if done.last is None:
            return total, skipped
        after = done.last
