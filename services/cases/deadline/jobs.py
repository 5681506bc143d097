"""The sweep: every due step of every clock fires once — warnings, breach, then the ladder (remind →
supervision notice → one tier up). Rows are claimed with FOR UPDATE SKIP LOCKED together with their
case, and each step's effect, timeline entry and events commit in the claim's transaction, so any
number of replicas can sweep and a killed sweep redoes nothing twice. Time comes from the clock only."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.cases.case import effects
from services.cases.case import service as case_service
from services.cases.case.action.grading import escalate_case
from services.cases.case.schemas import TimelineEntry
from services.cases.db import outbox
from services.cases.deadline import repository as repo
from services.cases.deadline.service import DeadlineEngine, DeadlineRow
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
