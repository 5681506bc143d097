"""What cases does with the events it receives (from intake)."""
from __future__ import annotations

import logging
import uuid
from typing import Any

from services.cases.case import repository as case_repo
from services.cases.case.service import create_from_report
from shared.clock import clock
from shared.contracts.events import FOLLOWUP_SUBMITTED, REPORT_SUBMITTED, ReportSubmitted
from shared.inbox import EventIn

log = logging.getLogger("cases.events")


async def on_report_submitted(session: Any, event: EventIn, ctx: Any) -> None:
    await create_from_report(session, ReportSubmitted.model_validate(event.payload))


async def on_followup_submitted(session: Any, event: EventIn, ctx: Any) -> None:
    """A revisit record (回访记录) from the phone goes on its case's timeline."""
    followup = event.payload.get("followup") or {}
    case_id = uuid.UUID(str(followup.get("case_id")))
    case = await case_repo.get_case(session, case_id, {"all": True, "areas": ()})
    if case is None or case.reporter_id != event.payload.get("worker_id"):
        log.warning("followup %s names a case the worker did not report; ignored", event.payload.get("report_no"))
        return
    note = f"回访：{followup.get('satisfaction')}" + (f"；{followup['notes']}" if followup.get("notes") else "")
    await case_repo.add_timeline(
        session, case_id, clock.now(), f"grid_worker:{event.payload.get('worker_id')}", "followup", None, None, note,
        {"task_id": followup.get("task_id"), "report_no": event.payload.get("report_no")},
    )


HANDLERS = {REPORT_SUBMITTED: on_report_submitted, FOLLOWUP_SUBMITTED: on_followup_submitted}
