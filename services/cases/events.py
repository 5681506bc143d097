"""What cases does with the events it receives (from intake)."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from services.cases.case import repository as case_repo
from services.cases.case import task_repository as task_repo
from services.cases.case.actions import complete_revisit
from services.cases.case.service import create_from_report
from services.cases.stats import recording as stats
from shared.clock import clock
from shared.contracts.events import FOLLOWUP_SUBMITTED, PATROLS_COUNTED, REPORT_SUBMITTED, ReportSubmitted
from shared.inbox import EventIn

log = logging.getLogger("cases.events")


async def on_report_submitted(session: Any, event: EventIn, ctx: Any) -> None:
    await create_from_report(session, ReportSubmitted.model_validate(event.payload), ctx.domain)


async def on_followup_submitted(session: Any, event: EventIn, ctx: Any) -> None:
    """A revisit record (回访记录) from the phone completes its revisit task and, when the case awaits
    its revisit, the revisit itself (dissatisfied reopens the case)."""
    followup = event.payload.get("followup") or {}
    worker = event.payload.get("worker_id")
    try:
        case_id = uuid.UUID(str(followup.get("case_id")))
        task_id = uuid.UUID(str(followup.get("task_id")))
    except ValueError:
        log.warning("followup %s names no task or case; ignored", event.payload.get("report_no"))
        return
    issued = await task_repo.issued_state(session, task_id, case_id, str(worker))
    if issued is None:  # not a task cases gave this worker about this case: it writes into no case
        log.warning(
            "followup %s matches no revisit task issued to its worker for that case; ignored",
            event.payload.get("report_no"),
        )
        return
    case = await case_repo.lock_case(session, case_id)
    now = clock.now()
    if case is None or issued != "open":
        log.info(
            "followup %s answers a revisit task that is %s; kept on record only", event.payload.get("report_no"), issued
        )
        if case is not None:
            await case_repo.add_timeline(
                session,
                case_id,
                now,
                f"grid_worker:{worker}",
                "followup",
                case.state,
                case.state,
                "收到回访记录（回访任务已结束）",
                {"task_id": str(task_id), "report_no": event.payload.get("report_no")},
            )
        return
    await case_repo.finish_task(session, task_id, case_id, now)
    note = followup.get("notes")
    if case.state == "replied":
        await complete_revisit(
            session, ctx.domain, case, str(followup.get("satisfaction")), note, f"grid_worker:{worker}", now
        )
    else:
        await case_repo.add_timeline(
            session,
            case_id,
            now,
            f"grid_worker:{worker}",
            "followup",
            case.state,
            case.state,
            f"回访：{followup.get('satisfaction')}" + (f"；{note}" if note else ""),
            {"task_id": str(task_id)},
        )


async def on_patrols_counted(session: Any, event: EventIn, ctx: Any) -> None:
    """Patrol reports (巡查日志) are counted, not made into cases: one batch per push."""
    await stats.count_patrols(session, event.payload)


HANDLERS = {
    REPORT_SUBMITTED: on_report_submitted,
    FOLLOWUP_SUBMITTED: on_followup_submitted,
    PATROLS_COUNTED: on_patrols_counted,
}
