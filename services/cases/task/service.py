"""Tasks cases hands to grid workers' phones (a revisit 回访 after the reply): issued, finished by the
phone's follow-up, withdrawn when the case goes back to work. Each issue and withdrawal leaves through
the outbox in the caller's transaction."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from services.cases.db import outbox
from services.cases.task import repository as repo
from shared.contracts.events import TASK_CANCELLED
from shared.outbox import Event, publish

if TYPE_CHECKING:
    from services.cases.case.models import CaseRow

REVISIT = "revisit"


async def issue_revisits(
    session: AsyncSession, case: CaseRow, workers: Iterable[str], reply: str, now: datetime
) -> None:
    """One revisit task per reporting grid worker, each told to its phone (task.assigned)."""
    for worker in workers:
        task_id = uuid.uuid4()
        await repo.insert_task(
            session, {"id": task_id, "case_id": case.id, "worker_id": worker, "kind": REVISIT, "now": now}
        )
        task = {
            "task_id": str(task_id),
            "worker_id": worker,
            "kind": REVISIT,
            "case_id": str(case.id),
            "case_number": case.number,
            "title": f"回访：{case.title or case.number}",
            "reply": reply,
        }
        await publish(
            session,
            outbox,
            [Event(type="task.assigned", aggregate_id=str(case.id), payload=task, destinations=("intake", "notify"))],
        )


async def withdraw(session: AsyncSession, case: CaseRow, reason: str, now: datetime) -> None:
    """The case's open tasks are withdrawn, and each phone is told to drop its task."""
    await publish(
        session,
        outbox,
        [
            Event(
                type=TASK_CANCELLED,
                aggregate_id=str(case.id),
                destinations=("intake",),
                payload={
                    "task_id": str(t.id),
                    "worker_id": t.worker_id,
                    "kind": t.kind,
                    "case_id": str(case.id),
                    "case_number": case.number,
                    "reason": reason,
                },
            )
            for t in await repo.cancel_tasks(session, case.id, now)
        ],
    )


async def issued_state(session: AsyncSession, task_id: uuid.UUID, case_id: uuid.UUID, worker_id: str) -> str | None:
    """The state of the task cases issued with this id, about this case, to this worker; None if it
    issued no such task."""
    return await repo.issued_state(session, task_id, case_id, worker_id)


async def finish(session: AsyncSession, task_id: uuid.UUID, case_id: uuid.UUID, now: datetime) -> bool:
    return await repo.finish_task(session, task_id, case_id, now)


HOUSEHOLD_VISIT = "household_visit"


async def issue_household_visits(
    session: AsyncSession, case: CaseRow, workers: Iterable[str], subject_name: str | None, now: datetime
) -> list[str]:
    """定期走访: one visit task per grid worker for a high-risk household, about its latest case, each told
    to its phone (task.assigned). The phone's follow-up record finishes it. Returns the task ids."""
    ids = []
    for worker in workers:
        task_id = uuid.uuid4()
        await repo.insert_task(
            session, {"id": task_id, "case_id": case.id, "worker_id": worker, "kind": HOUSEHOLD_VISIT, "now": now}
        )
        task = {
            "task_id": str(task_id),
            "worker_id": worker,
            "kind": HOUSEHOLD_VISIT,
            "case_id": str(case.id),
            "case_number": case.number,
            "title": f"走访：{subject_name or '当事人'}（高风险户）",
        }
        await publish(
            session,
            outbox,
            [Event(type="task.assigned", aggregate_id=str(case.id), payload=task, destinations=("intake", "notify"))],
        )
        ids.append(str(task_id))
    return ids


async def kind_of(session: AsyncSession, task_id: uuid.UUID) -> str | None:
    return await repo.kind_of(session, task_id)
