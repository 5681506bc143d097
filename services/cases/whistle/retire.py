"""A department retired (撤销) by an org import leaves no case waiting on it: its whistles still at work
end `cancelled`, each under its case's row lock, with the timeline entry, the whistle.cancelled event and
its clocks called off — a lead's resolve clock too, so the next lead gets its own days."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.cases.case import effects
from services.cases.case import repository as case_repo
from services.cases.deadline import service as deadline_service
from services.cases.whistle import repository as repo

ACTOR = "system:org_import"


async def cancel_for_retired(session: Any, codes: list[str], now: datetime) -> int:
    """Cancel the open whistles of the retired departments `codes`; returns how many were cancelled."""
    n = 0
    for pair in await repo.open_of_departments(session, codes) if codes else []:
        case = await case_repo.lock_case(session, pair.case_id)
        dept = pair.department_code
        reason = f"部门 {dept} 已撤销"
        stopped = await repo.cancel_open(session, case.id, reason, now, department=dept)  # re-checked under the lock
        if not stopped:
            continue
        for w in stopped:
            await deadline_service.cancel(session, case.id, reason, now, kinds=("acknowledge",), whistle_id=w.id)
        if any(w.role == "lead" for w in stopped):
            await deadline_service.cancel(session, case.id, f"牵头部门 {dept} 已撤销", now, kinds=("resolve",))
            if case.responsible_unit == dept:
                case = await case_repo.update_case(session, case.id, now, responsible_unit=None)
        events = [
            (
                "whistle.cancelled",
                effects.case_payload(case)
                | {"whistle_id": str(w.id), "department": dept, "role": w.role, "state": "cancelled", "note": reason},
            )
            for w in stopped
        ]
        await effects.record(
            session,
            case,
            actor=ACTOR,
            action="whistle_cancel",
            before=case.state,
            after=case.state,
            note=f"{reason}，吹哨事项取消",
            now=now,
            events=events,
            data={"whistles_cancelled": [str(w.id) for w in stopped]},
        )
        n += len(stopped)
    return n
