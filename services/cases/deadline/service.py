"""Deadlines (时限) of a case: the engine that times them, their use cases (start, meet, pause, resume,
extend, cancel; jobs.py fires their steps), the dashboards' list and the morning digest."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.cases.calendar import WorkCalendar
from services.cases.deadline import repository as repo
from services.cases.deadline.policy import Policy, Step
from services.cases.deadline.schemas import DeadlineItem, DeadlinePage, Digest, DigestCentre
from shared.clock import CHINA_TZ, clock
from shared.metrics import Reading
from shared.paging import decode_cursor, encode_cursor

log = logging.getLogger("cases.deadline")

OPEN_STATES = ("pending", "breached")


@dataclass
class DeadlineEngine:
    """The deadline policy and the work calendar: when each step of a clock falls."""

    policy: Policy
    calendar: WorkCalendar

    @property
    def steps(self) -> list[Step]:
        """The policy's common step sequence (a kind with its own ladder: `steps_for`)."""
        return self.steps_for(None)

    def steps_for(self, kind: str | None) -> list[Step]:
        """The step sequence of a kind's clocks, computed once per policy (the sweep asks for it per row)."""
        cached = self.__dict__.get("_steps")
        if cached is None or cached[0] is not self.policy:
            cached = (self.policy, {})
            self.__dict__["_steps"] = cached
        by_kind: dict[str | None, list[Step]] = cached[1]
        if kind not in by_kind:
            by_kind[kind] = self.policy.steps(kind)
        return by_kind[kind]

    def fire_time(self, row: Any, step_index: int) -> datetime | None:
        steps = self.steps_for(getattr(row, "kind", None))
        if step_index >= len(steps):
            return None
        step = steps[step_index]
        limit = timedelta(seconds=row.limit_seconds)
        if step.after is None and step.action != "breach":
            return self.calendar.add(row.started_at, limit * step.fraction, row.calendar).at
        if step.action == "breach":
            return row.due_at
        return self.calendar.add(row.due_at, limit * (step.after or 0), row.calendar).at

    def new_row(
        self,
        case_id: uuid.UUID,
        kind: str,
        start: datetime,
        *,
        whistle_id: uuid.UUID | None = None,
        department: str | None = None,
        repeat_of: uuid.UUID | None = None,
        paused: bool = False,
        notice_id: uuid.UUID | None = None,
        limit: timedelta | None = None,
    ) -> dict[str, Any]:
        kp = self.policy.deadlines[kind]
        mode = self.policy.calendar_for(kind)
        if limit is not None and limit < timedelta(days=1):
            mode = "natural"  # a response time in hours or minutes counts on the wall clock
        limit = limit or kp.limit
        due = self.calendar.add(start, limit, mode)
        row = {
            "id": uuid.uuid4(),
            "case_id": case_id,
            "whistle_id": whistle_id,
            "department_code": department,
            "kind": kind,
            "calendar": mode,
            "limit_seconds": limit.total_seconds(),
            "started_at": start,
            "due_at": due.at,
            "provisional": due.provisional,
            "repeat_of": repeat_of,
            "notice_id": notice_id,
            "created_at": start,
            "paused_at": start if paused else None,
        }
        row["next_fire_at"] = None if paused else self.fire_time(DeadlineRow(row), 0)
        return row

    def applies(self, kind: str, case: Any) -> bool:
        kp = self.policy.deadlines.get(kind)
        if kp is None:
            return False
        return all(str(getattr(case, field, None)) == str(value) for field, value in (kp.when or {}).items())


async def deadlines_of_case(session: AsyncSession, case_id: uuid.UUID, lock: bool = False) -> list[Any]:
    """A case's clocks; `lock` row-locks them for a change (extend)."""
    return await repo.of_case(session, case_id, lock=lock)


def running(d: Any) -> bool:
    """Still owed: pending, or breached with its work still asked for — not met, not called off. The one
    definition every start, meet, pause, resume and cancel uses (SQL readers use repo.OWED_SQL)."""
    return d.state in OPEN_STATES and d.met_at is None and d.cancel_reason is None


class DeadlineRow:
    """A deadline's columns as attributes over a dict, so fresh rows and fetched rows share code."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.__dict__.update(data)


async def start(
    session: AsyncSession,
    engine: DeadlineEngine,
    case: Any,
    starting: str,
    now: datetime,
    *,
    whistle_id: uuid.UUID | None = None,
    department: str | None = None,
    kinds: tuple[str, ...] | None = None,
) -> list[dict[str, Any]]:
    """Start every kind whose policy says it starts at `starting` (and whose condition holds)."""
    existing = {(d.kind, d.whistle_id) for d in await repo.of_case(session, case.id) if running(d)}
    rows = []
    for kind, kp in engine.policy.deadlines.items():
        if kp.start != starting or (kinds is not None and kind not in kinds) or not engine.applies(kind, case):
            continue
        per_whistle = kind == "acknowledge"
        if (kind, whistle_id if per_whistle else None) in existing:
            continue  # a clock already running is not started twice (e.g. a second whistle)
        rows.append(
            engine.new_row(
                case.id,
                kind,
                now,
                whistle_id=whistle_id if per_whistle else None,
                department=department if per_whistle else None,
                paused=case.state == "suspended",
            )
        )
    await repo.insert(session, rows)
    return rows


async def start_new(
    session: AsyncSession, engine: DeadlineEngine, cases: list[Any], starting: str, now: datetime
) -> list[dict[str, Any]]:
    """`start` for many cases just made (no clock runs on them yet), in one statement."""
    rows = [
        engine.new_row(case.id, kind, now, paused=case.state == "suspended")
        for case in cases
        for kind, kp in engine.policy.deadlines.items()
        if kp.start == starting and engine.applies(kind, case)
    ]
    await repo.insert(session, rows)
    return rows


async def meet(
    session: AsyncSession,
    engine: DeadlineEngine,
    case_id: uuid.UUID,
    kinds: tuple[str, ...],
    actor: str,
    now: datetime,
    *,
    whistle_id: uuid.UUID | None = None,
) -> list[Any]:
    """Mark open deadlines of `kinds` met (a breached one is met late and its ladder stops).
    A repeating kind starts its next round from now."""
    met = []
    for d in await repo.of_case(session, case_id, lock=True):
        if d.kind not in kinds or not running(d):
            continue
        if whistle_id is not None and d.whistle_id is not None and d.whistle_id != whistle_id:
            continue
        state = "met" if d.state == "pending" else "breached"
        await repo.update(session, d.id, state=state, met_at=now, met_by=actor, next_fire_at=None)
        met.append(d)
        if engine.policy.deadlines.get(d.kind) and engine.policy.deadlines[d.kind].repeat:
            await repo.insert(
                session, [engine.new_row(case_id, d.kind, now, repeat_of=d.id, paused=d.paused_at is not None)]
            )
    return met


async def start_notice_response(
    session: AsyncSession,
    engine: DeadlineEngine,
    case: Any,
    notice_id: uuid.UUID,
    now: datetime,
    limit: timedelta | None = None,
) -> dict[str, Any]:
    """督办通知书: the clock of the answer it asks for (kind notice_response; `limit` a by-hand notice's own
    response time, else the policy's), among the case's deadlines; paused with a suspended case."""
    row = engine.new_row(
        case.id, "notice_response", now, notice_id=notice_id, limit=limit, paused=case.state == "suspended"
    )
    await repo.insert(session, [row])
    return row


async def meet_notice_response(session: AsyncSession, notice_id: uuid.UUID, actor: str, now: datetime) -> None:
    """The notice is answered: its response clock is met (late, if breached: its ladder stops)."""
    for d in await repo.of_notice(session, notice_id, lock=True):
        if running(d):
            state = "met" if d.state == "pending" else "breached"
            await repo.update(session, d.id, state=state, met_at=now, met_by=actor, next_fire_at=None)


async def cancel(
    session: AsyncSession,
    case_id: uuid.UUID,
    reason: str,
    now: datetime,
    kinds: tuple[str, ...] | None = None,
    whistle_id: uuid.UUID | None = None,
) -> int:
    """Pending clocks of `kinds` end `cancelled` with the reason; a breached one still owed (its ladder
    running, finished or paused) stays breached but is called off: its ladder stops and nothing meets,
    pauses or re-arms it again. One pass over the case's engine."""
    n = 0
    for d in await repo.of_case(session, case_id, lock=True):
        if (kinds is not None and d.kind not in kinds) or (whistle_id is not None and d.whistle_id != whistle_id):
            continue
        if d.state == "pending":
            await repo.update(
                session, d.id, state="cancelled", cancelled_at=now, cancel_reason=reason, next_fire_at=None
            )
            n += 1
        elif running(d):  # breached and still owed
            await repo.update(session, d.id, next_fire_at=None, cancel_reason=reason, cancelled_at=now)
    return n


async def pause(session: AsyncSession, case_id: uuid.UUID, now: datetime) -> None:
    for d in await repo.of_case(session, case_id, lock=True):
        if running(d) and d.paused_at is None:
            await repo.update(session, d.id, paused_at=now, next_fire_at=None)


async def resume(session: AsyncSession, engine: DeadlineEngine, case_id: uuid.UUID, now: datetime) -> None:
    """Shift every paused clock by the time it was paused (挂起期间不计时)."""
    for d in await repo.of_case(session, case_id, lock=True):
        if d.paused_at is None or not running(d):
            continue
        shift = now - d.paused_at
        started = d.started_at + shift
        due = d.due_at + shift
        if d.calendar == "workday":
            due = engine.calendar.add(started, timedelta(seconds=d.limit_seconds), d.calendar).at
        data = dict(d._mapping) | {"started_at": started, "due_at": due}
        nxt = engine.fire_time(DeadlineRow(data), d.next_step)
        await repo.update(session, d.id, started_at=started, due_at=due, paused_at=None, next_fire_at=nxt)


async def extend(
    session: AsyncSession,
    engine: DeadlineEngine,
    deadline: Any,
    new_due: datetime,
    extension: dict[str, Any],
    now: datetime,
) -> None:
    """An approved extension (延期) moves one deadline once; warnings are re-timed on the new limit."""
    limit = engine.calendar.elapsed(deadline.started_at, new_due, deadline.calendar)
    data = dict(deadline._mapping) | {"due_at": new_due, "limit_seconds": limit.total_seconds()}
    step = deadline.next_step
    nxt = engine.fire_time(DeadlineRow(data), step)
    # steps already behind us on the new timeline are not fired again
    while nxt is not None and nxt <= now and engine.steps_for(deadline.kind)[step].action == "warning":
        step += 1
        nxt = engine.fire_time(DeadlineRow(data), step)
    await repo.update(
        session,
        deadline.id,
        due_at=new_due,
        limit_seconds=limit.total_seconds(),
        extended_at=now,
        extension=extension,
        next_step=step,
        next_fire_at=None if deadline.paused_at else nxt,
    )


@dataclass
class RetimeRound:
    """One claim of the re-timing: clocks re-timed, cases skipped (an action held them), where it stopped."""

    retimed: int
    skipped: list[uuid.UUID]
    last: uuid.UUID | None


def retimed_row(engine: DeadlineEngine, d: Any, now: datetime) -> dict[str, Any] | None:
    """A pending clock timed on an estimate, timed again on the calendar as it now is: its new due time
    (an extended one keeps the approved instant), provisional flag and next step; None when nothing moves.
    Warnings that fall behind `now` on the new timeline are not fired late."""
    limit = timedelta(seconds=d.limit_seconds)
    due = engine.calendar.add(d.started_at, limit, d.calendar)
    due_at = d.due_at if d.extended_at is not None else due.at
    data = dict(d._mapping) | {"due_at": due_at, "provisional": due.provisional}
    step = d.next_step
    nxt = engine.fire_time(DeadlineRow(data), step)
    while nxt is not None and nxt <= now and engine.steps[step].action == "warning":
        step += 1
        nxt = engine.fire_time(DeadlineRow(data), step)
    if d.paused_at is not None:
        nxt = None
    if due_at == d.due_at and due.provisional == d.provisional and nxt == d.next_fire_at and step == d.next_step:
        return None
    return {"id": d.id, "due_at": due_at, "provisional": due.provisional, "next_step": step, "next_fire_at": nxt}


async def list_deadlines(
    session: AsyncSession, scope: dict[str, Any], filters: dict[str, Any], cursor: str | None, limit: int
) -> DeadlinePage:
    """The clocks of the cases `scope` (the caller's, from the case domain) sees, soonest due first."""
    rows = await repo.list_for(session, scope, filters, limit + 1, decode_cursor(cursor) if cursor else None)
    more = len(rows) > limit
    rows = rows[:limit]
    return DeadlinePage(
        items=[
            DeadlineItem(
                id=r.id,
                case_id=r.case_id,
                case_number=r.case_number,
                kind=r.kind,
                state=r.state,
                due_at=r.due_at,
                met_at=r.met_at,
                breached_at=r.breached_at,
                department=r.department_code,
                calendar=r.calendar,
                provisional=r.provisional,
                paused=r.paused_at is not None,
            )
            for r in rows
        ],
        next_cursor=encode_cursor(rows[-1].due_at, rows[-1].id) if more and rows else None,
    )


async def digest(session: AsyncSession, cases_per_centre: int) -> Digest:
    """Per centre: what is overdue and what falls due today (China time), for notify's daily digest."""
    now = clock.now()
    local = now.astimezone(CHINA_TZ)
    end_of_day = datetime(local.year, local.month, local.day, tzinfo=CHINA_TZ) + timedelta(days=1)
    rows = await repo.digest_by_centre(session, now, end_of_day, cases_per_centre)
    return Digest(
        date=local.date().isoformat(),
        centres=[
            DigestCentre(
                area=r.code,
                name=r.name,
                level=r.level,
                overdue=r.overdue,
                overdue_case_count=r.overdue_case_count,
                due_today=r.due_today,
                overdue_cases=list(r.overdue_cases or []),
            )
            for r in rows
        ],
    )


async def operator_readings(session: AsyncSession) -> list[Reading]:
    """What operators page on (/metrics): clocks breached and still owed, and how far the sweep is behind
    (now − the oldest step due and not yet fired; 0 when it is keeping up)."""
    now = clock.now()
    row = await repo.operator_figures(session, now)
    lag = max(0.0, (now - row.oldest_due).total_seconds()) if row.oldest_due is not None else 0.0
    return [
        Reading("deadlines_breached", "Deadlines breached and still owed (neither met nor called off)", row.breached),
        Reading("deadline_sweep_lag_seconds", "now − the oldest deadline step due and not yet fired", lag),
    ]
