"""The clocks of a case: start, meet, pause, resume, extend, cancel — and the sweep that fires
warnings, breaches and the escalation ladder exactly once each."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from services.cases.calendar import WorkCalendar
from services.cases.deadline import repository as repo
from services.cases.deadline.policy import Policy, Step

log = logging.getLogger("cases.deadline")

OPEN_STATES = ("pending", "breached")


@dataclass
class DeadlineEngine:
    policy: Policy
    calendar: WorkCalendar

    @property
    def steps(self) -> list[Step]:
        """The policy's step sequence, computed once per policy (the sweep asks for it per row)."""
        cached = self.__dict__.get("_steps")
        if cached is None or cached[0] is not self.policy:
            cached = (self.policy, self.policy.steps())
            self.__dict__["_steps"] = cached
        return cached[1]

    def fire_time(self, row: Any, step_index: int) -> datetime | None:
        steps = self.steps
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
    ) -> dict[str, Any]:
        kp = self.policy.deadlines[kind]
        mode = self.policy.calendar_for(kind)
        due = self.calendar.add(start, kp.limit, mode)
        row = {
            "id": uuid.uuid4(),
            "case_id": case_id,
            "whistle_id": whistle_id,
            "department_code": department,
            "kind": kind,
            "calendar": mode,
            "limit_seconds": kp.limit.total_seconds(),
            "started_at": start,
            "due_at": due.at,
            "provisional": due.provisional,
            "repeat_of": repeat_of,
            "created_at": start,
            "paused_at": start if paused else None,
        }
        row["next_fire_at"] = None if paused else self.fire_time(_Row(row), 0)
        return row

    def applies(self, kind: str, case: Any) -> bool:
        kp = self.policy.deadlines.get(kind)
        if kp is None:
            return False
        for field, value in (kp.when or {}).items():
            if str(getattr(case, field, None)) != str(value):
                return False
        return True


def running(d: Any) -> bool:
    """Still owed: pending, or breached with its work still asked for — not met, not called off. The one
    definition every start, meet, pause, resume and cancel uses (SQL readers use repo.OWED_SQL)."""
    return d.state in OPEN_STATES and d.met_at is None and d.cancel_reason is None


class _Row:
    """Attribute access over a dict, so fresh rows and fetched rows share code."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.__dict__.update(data)


async def start(
    session: Any,
    clocks: DeadlineEngine,
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
    for kind, kp in clocks.policy.deadlines.items():
        if kp.start != starting or (kinds is not None and kind not in kinds) or not clocks.applies(kind, case):
            continue
        per_whistle = kind == "acknowledge"
        if (kind, whistle_id if per_whistle else None) in existing:
            continue  # a clock already running is not started twice (e.g. a second whistle)
        rows.append(
            clocks.new_row(
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


async def meet(
    session: Any,
    clocks: DeadlineEngine,
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
        if clocks.policy.deadlines.get(d.kind) and clocks.policy.deadlines[d.kind].repeat:
            await repo.insert(
                session, [clocks.new_row(case_id, d.kind, now, repeat_of=d.id, paused=d.paused_at is not None)]
            )
    return met


async def cancel(
    session: Any,
    case_id: uuid.UUID,
    reason: str,
    now: datetime,
    kinds: tuple[str, ...] | None = None,
    whistle_id: uuid.UUID | None = None,
) -> int:
    """Pending clocks of `kinds` end `cancelled` with the reason; a breached one still owed (its ladder
    running, finished or paused) stays breached but is called off: its ladder stops and nothing meets,
    pauses or re-arms it again. One pass over the case's clocks."""
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


async def pause(session: Any, case_id: uuid.UUID, now: datetime) -> None:
    for d in await repo.of_case(session, case_id, lock=True):
        if running(d) and d.paused_at is None:
            await repo.update(session, d.id, paused_at=now, next_fire_at=None)


async def resume(session: Any, clocks: DeadlineEngine, case_id: uuid.UUID, now: datetime) -> None:
    """Shift every paused clock by the time it was paused (挂起期间不计时)."""
    for d in await repo.of_case(session, case_id, lock=True):
        if d.paused_at is None or not running(d):
            continue
        shift = now - d.paused_at
        started = d.started_at + shift
        due = d.due_at + shift
        if d.calendar == "workday":
            due = clocks.calendar.add(started, timedelta(seconds=d.limit_seconds), d.calendar).at
        data = dict(d._mapping) | {"started_at": started, "due_at": due}
        nxt = clocks.fire_time(_Row(data), d.next_step)
        await repo.update(session, d.id, started_at=started, due_at=due, paused_at=None, next_fire_at=nxt)


async def extend(
    session: Any, clocks: DeadlineEngine, deadline: Any, new_due: datetime, extension: dict[str, Any], now: datetime
) -> None:
    """An approved extension (延期) moves one deadline once; warnings are re-timed on the new limit."""
    limit = clocks.calendar.elapsed(deadline.started_at, new_due, deadline.calendar)
    data = dict(deadline._mapping) | {"due_at": new_due, "limit_seconds": limit.total_seconds()}
    step = deadline.next_step
    nxt = clocks.fire_time(_Row(data), step)
    # steps already behind us on the new timeline are not fired again
    while nxt is not None and nxt <= now and clocks.steps[step].action == "warning":
        step += 1
        nxt = clocks.fire_time(_Row(data), step)
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
