"""The common step of a case action: the case moves to its next state (the machine's table), leaves
its timeline entry and its events (case.<action>, report.status for the phones) in the transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.cases.case import centre, effects
from services.cases.case import repository as repo
from services.cases.case.machine import next_state
from services.cases.case.models import CaseRow
from services.cases.principal import actor_name
from shared.auth import Principal


async def transition(
    session: AsyncSession,
    case: CaseRow,
    principal: Principal,
    action: str,
    now: datetime,
    note: str | None,
    *,
    to: str | None = None,
    events: list[tuple[str, dict[str, Any]]] | None = None,
    data: dict[str, Any] | None = None,
    reply: str | None = None,
    payload: dict[str, Any] | None = None,
    **fields: Any,
) -> Any:
    """`payload`: more keys for the case.<action> event (e.g. the applicant a reply reaches)."""
    before = case.state
    after = to or next_state(action, before)
    acting = centre.acting_centre(principal, case.area_path)
    if acting:  # which centre did it (a jointly handled case's timeline says who did what)
        data = {**(data or {}), "centre": acting}
    updated = await repo.update_case(session, case.id, now, state=after, **fields)
    evs = [
        (
            f"case.{action}",
            effects.case_payload(updated)
            | {"from": before, "to": after, "note": note, "actor": actor_name(principal)}
            | (payload or {}),
        )
    ]
    evs += events or []
    await effects.record(
        session,
        updated,
        actor=actor_name(principal),
        action=action,
        before=before,
        after=after,
        note=note,
        now=now,
        events=evs,
        data=data,
        reply=reply,
    )
    return updated
