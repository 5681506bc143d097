"""What the case domain does with the events it receives from intake: a submitted report makes a case
(report.submitted); a revisit record (回访记录) from the phone completes its revisit task and, when the
case awaits its revisit, the revisit itself (followup.submitted)."""

from __future__ import annotations

import logging
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from services.cases.case import repository as case_repo
from services.cases.case.action.closing import complete_revisit
from services.cases.case.schemas import TimelineEntry
from services.cases.case.service import add_timeline_entries, create_from_report, create_from_reports
from services.cases.context import CasesContext
from services.cases.task import service as tasks
from shared.clock import clock
from shared.contracts.events import ReportSubmitted
from shared.inbox import EventIn

log = logging.getLogger("cases.events")


async def on_report_submitted(session: AsyncSession, event: EventIn, ctx: CasesContext) -> None:
    await create_from_report(session, ReportSubmitted.model_validate(event.payload), ctx.domain)


async def on_reports_submitted(session: AsyncSession, events: list[EventIn], ctx: CasesContext) -> None:
    """Many report.submitted at once: the same cases as `on_report_submitted` one after another, set-based."""
    await create_from_reports(session, [ReportSubmitted.model_validate(ev.payload) for ev in events], ctx.domain)


async def on_followup_submitted(session: AsyncSession, event: EventIn, ctx: CasesContext) -> None:
    followup = event.payload.get("followup") or {}
    worker = event.payload.get("worker_id")
    try:
        case_id = uuid.UUID(str(followup.get("case_id")))
        task_id = uuid.UUID(str(followup.get("task_id")))
    except ValueError:
        log.warning("followup %s names no task or case; ignored", event.payload.get("report_no"))
        return
    issued = await tasks.issued_state(session, task_id, case_id, str(worker))
    if issued is None:  # not a task cases gave this worker about this case: it writes into no case
        log.warning(
            "followup %s matches no revisit task issued to its worker for that case; ignored",
            event.payload.get("report_no"),
        )
        return
    case = await case_repo.lock_case(session, case_id)
    now = clock.now()
    actor = f"grid_worker:{worker}"
    if case is None or issued != "open":
        log.info(
            "followup %s answers a revisit task that is %s; kept on record only", event.payload.get("report_no"), issued
        )
        if case is not None:
            await add_timeline_entries(
                session,
                [
                    TimelineEntry(
                        case_id,
                        now,
                        actor,
                        "followup",
                        case.state,
                        case.state,
                        "收到回访记录（回访任务已结束）",
                        {"task_id": str(task_id), "report_no": event.payload.get("report_no")},
                    )
                ],
            )
        return
    await tasks.finish(session, task_id, case_id, now)
    note = followup.get("notes")
    if await tasks.kind_of(session, task_id) == tasks.HOUSEHOLD_VISIT:
        # 定期走访 of a high-risk household: recorded on the case, which it does not move
        await add_timeline_entries(
            session,
            [
                TimelineEntry(
                    case_id,
                    now,
                    actor,
                    "household_visit_done",
                    case.state,
                    case.state,
                    "完成高风险户走访" + (f"：{note}" if note else ""),
                    {"task_id": str(task_id), "satisfaction": followup.get("satisfaction")},
                )
            ],
        )
        return
    if case.state == "replied":
        await complete_revisit(session, ctx.domain, case, str(followup.get("satisfaction")), note, actor, now)
    else:
        await add_timeline_entries(
            session,
            [
                TimelineEntry(
                    case_id,
                    now,
                    actor,
                    "followup",
                    case.state,
                    case.state,
                    f"回访：{followup.get('satisfaction')}" + (f"；{note}" if note else ""),
                    {"task_id": str(task_id)},
                )
            ],
        )
