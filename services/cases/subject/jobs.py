"""定期走访: the scheduled visits of high-risk households (the risk policy's `visits`). Due subjects are
claimed with FOR UPDATE SKIP LOCKED together with their latest case (skipped while an action holds it),
a visit task goes to each grid worker who reported that case, the case's timeline says so, and the next
visit is scheduled — all in the claim's transaction, so any number of replicas may tick."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime

from services.cases.case import service as case_service
from services.cases.case.schemas import TimelineEntry
from services.cases.subject import repository as repo
from services.cases.subject.policy import RiskPolicy
from services.cases.task import service as tasks
from shared.clock import clock
from shared.db import Database

log = logging.getLogger("cases.visits")


async def issue_due_visits(db: Database, policy: RiskPolicy, batch: int = 100, max_rounds: int = 20) -> int:
    """Claims of due visits until none is left (at most `max_rounds`); returns the visit tasks issued."""
    total = 0
    for _ in range(max_rounds):
        scheduled, issued = await issue_visits_once(db, policy, batch)
        total += issued
        if scheduled == 0:
            break
    if total:
        log.info("issued %d household visit tasks", total)
    return total


async def issue_visits_once(db: Database, policy: RiskPolicy, batch: int = 100) -> tuple[int, int]:
    """One claim of due visits: (subjects scheduled anew, visit tasks issued)."""
    issued = 0
    async with db.unit_of_work() as session:
        now = clock.now()
        due = await repo.claim_due_visits(session, now, batch)
        if not due:
            return 0, 0
        latest = await repo.latest_cases(session, [s.id for s in due])
        locked = await case_service.lock_unheld_cases(session, list({r.case_id for r in latest.values()}))
        cases = await case_service.cases_by_ids(session, list(locked))
        entries: list[TimelineEntry] = []
        schedule: list[tuple[uuid.UUID, datetime | None]] = []
        for subject in due:
            interval = policy.visits.get(subject.risk)
            found = latest.get(subject.id)
            if interval is None:
                schedule.append((subject.id, None))  # the level no longer has visits (a policy change)
                continue
            if found is not None and found.case_id not in locked:
                continue  # an action holds the case right now: the next tick
            if found is not None and found.workers:
                case = cases[found.case_id]
                ids = await tasks.issue_household_visits(session, case, found.workers, subject.name, now)
                issued += len(ids)
                days = round(interval.total_seconds() / 86400)
                entries.append(
                    TimelineEntry(
                        case.id,
                        now,
                        "system:rules",
                        "household_visit",
                        case.state,
                        case.state,
                        f"安排网格员{'、'.join(found.workers)}走访高风险户{subject.name or '当事人'}（每{days}天一次）",
                        {"subject_id": str(subject.id), "task_ids": ids},
                    )
                )
            schedule.append((subject.id, now + interval))
        if entries:
            await case_service.add_timeline_entries(session, entries)
        await repo.set_next_visits(session, schedule)
    return len(schedule), issued
