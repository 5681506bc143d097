"""短期内难以解决: the centre records that a matter cannot be solved soon — why, and by when it is expected
to be — and the reply clock starts then (DOMAIN.md "Time limits": reply within 1 day of resolution, or of
it becoming clear it cannot be solved soon). The reply that meets it is `reply` while the case is still
being worked on (an interim reply, the state stays); the case's own resolution comes later as usual."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.cases.case.action import schemas as bodies
from services.cases.case.action.exceptions import ExpectedDateInPast
from services.cases.case.action.transition import transition
from services.cases.case.domain import CaseDomain
from services.cases.case.models import CaseRow
from services.cases.deadline import service as deadline_svc
from services.cases.principal import actor_name
from shared.auth import Principal
from shared.clock import CHINA_TZ


async def do_defer(
    session: AsyncSession, domain: CaseDomain, p: Principal, case: CaseRow, body: bodies.DeferBody, now: datetime
) -> None:
    if body.expected_by < now.astimezone(CHINA_TZ).date():
        raise ExpectedDateInPast()
    expected = f"{body.expected_by.year}年{body.expected_by.month}月{body.expected_by.day}日"
    deferral = {
        "reason": body.reason,
        "expected_by": body.expected_by.isoformat(),
        "at": now.isoformat(),
        "by": actor_name(p),
    }
    note = f"短期内难以解决：{body.reason}；预计{expected}前解决"
    updated = await transition(
        session, case, p, "defer", now, note, deferral=deferral, data={"expected_by": deferral["expected_by"]}
    )
    reply = domain.deadlines.policy.deadlines.get("reply")
    if reply is not None:
        # the reply clock as the policy defines it, started now instead of at resolution (once: a clock
        # still running is not started twice; a second deferral after the reply starts a new one)
        await deadline_svc.start(session, domain.deadlines, updated, reply.start, now, kinds=("reply",))
