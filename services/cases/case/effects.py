"""What every case change leaves behind, in the same transaction: a timeline entry, the events for
notify and — when the state changed — the reporting phones' report.status."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.cases.case import repository as repo
from services.cases.case.models import CaseRow
from services.cases.case.schemas import TimelineEntry
from services.cases.db import outbox
from services.cases.stats import recording as stats
from shared.contracts.events import REPORT_STATUS
from shared.outbox import Event, publish

NOTIFY = ("notify",)


async def people(session: AsyncSession, case: CaseRow) -> dict[str, Any]:
    """Whom notify may reach for a case: its responsible person and every reporting grid worker."""
    reporters = (await repo.reporters_of(session, [case.id])).get(case.id, [])
    return {"responsible_person": getattr(case, "responsible_person", None), "reporters": reporters}


def case_payload(case: CaseRow) -> dict[str, Any]:
    return {
        "case_id": str(case.id),
        "case_number": case.number,
        "state": case.state,
        "kind": case.kind,
        "category": case.category,
        "title": case.title,
        "area": case.area_code,
        "area_path": list(case.area_path),
        "tier": case.tier,
        "level": case.level,
        "handling": list(getattr(case, "handling", None) or []),
        "responsible_unit": getattr(case, "responsible_unit", None),
        "reporter_id": case.reporter_id,
        "channel": getattr(case, "channel", None) or "grid",  # how it came in (grid, or the centre's desk)
    }


async def record(
    session: AsyncSession,
    case: CaseRow,
    *,
    actor: str,
    action: str,
    before: str | None,
    after: str | None,
    note: str | None,
    now: datetime,
    events: Sequence[tuple[str, dict[str, Any]]] = (),
    data: dict[str, Any] | None = None,
    reply: str | None = None,
) -> None:
    """Timeline entry + events. The caller holds the case row lock, so events of one case commit in order."""
    await repo.add_timeline_entries(session, [TimelineEntry(case.id, now, actor, action, before, after, note, data)])
    await stats.on_case_recorded(session, case, action, actor, now)
    who = await people(session, case) if events else {}
    out = [Event(type=t, aggregate_id=str(case.id), payload=p | who, destinations=NOTIFY) for t, p in events]
    if before != after or reply is not None or action == "grade":
        out += status_events(case, await repo.reports_with_workers(session, case.id), after, reply)
    await publish(session, outbox, out)


async def record_same_state(
    session: AsyncSession,
    records: Sequence[tuple[CaseRow, str, str, str | None, Sequence[tuple[str, dict[str, Any]]]]],
    now: datetime,
) -> None:
    """`record` for many changes that leave their case's state as it is (case, actor, action, note, events):
    the timeline entries in one statement, the events (with whom notify may reach) in another."""
    if not records:
        return
    await repo.add_timeline_entries(
        session,
        [TimelineEntry(c.id, now, actor, action, c.state, c.state, note) for c, actor, action, note, _ in records],
    )
    for c, actor, action, _, _ in records:
        await stats.on_case_recorded(session, c, action, actor, now)
    reporters = await repo.reporters_of(session, list(dict.fromkeys(c.id for c, *_ in records)))
    out = [
        Event(
            type=t,
            aggregate_id=str(c.id),
            payload=p
            | {"responsible_person": getattr(c, "responsible_person", None), "reporters": reporters.get(c.id, [])},
            destinations=NOTIFY,
        )
        for c, _, _, _, events in records
        for t, p in events
    ]
    await publish(session, outbox, out)


def status_events(
    case: CaseRow, reports: Sequence[Any], state: str | None, reply: str | None = None, aggregate: str | None = None
) -> list[Event]:
    """report.status for each reporting phone: the state, level and number of the case its report is in.
    `aggregate`: the case whose events these reports followed so far (kept in order behind them)."""
    return [
        Event(
            type=REPORT_STATUS,
            aggregate_id=aggregate or str(case.id),
            payload={
                "worker_id": r.worker_id,
                "report_id": str(r.report_id),
                "report_no": r.report_no,
                "case_id": str(case.id),
                "case_number": case.number,
                "state": state,
                "level": case.level,
                "reply": reply,
            },
            destinations=("intake",),
        )
        for r in reports
    ]


async def tell_phones(
    session: AsyncSession, case: CaseRow, reports: Sequence[Any], state: str | None, aggregate: str | None = None
) -> None:
    await publish(session, outbox, status_events(case, reports, state, aggregate=aggregate))
