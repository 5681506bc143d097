"""The daily digest (每日提醒) per centre: overdue and due-today clocks. Who hears of it, through which
channels and in which words is the `digest.daily` rule's (rules.yaml), like any other event."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.notify.digest import repository as repo
from services.notify.directory import service as directory
from services.notify.rule.engine import DIGEST_DAILY, Rule
from services.notify.rule.service import apply_rules
from shared.clock import clock
from shared.inbox import EventIn

DIGEST_JOB = "digest"
DIGEST_NS = uuid.UUID("5b0f3c1e-6a57-4c7e-9a8e-0d1f2b3c4d5e")
LISTED_AT_MOST = 20  # case numbers named in one digest; the count says how many there are


def _overdue_total(centre: dict[str, Any], listed: int) -> int:
    """How many cases are overdue: `overdue_case_count` (cases caps the numbers it sends, not the count);
    from a cases without it, the centre's `overdue` count."""
    total = centre.get("overdue_case_count")
    if isinstance(total, bool) or not isinstance(total, int):
        total = centre.get("overdue") or 0
    return max(int(total), listed)


def _overdue_list(centre: dict[str, Any]) -> str:
    """The overdue case numbers, when cases sends them (`overdue_cases`: numbers or {case_number}); when
    more are overdue than are named, "等N件" says how many in all."""
    found = [c.get("case_number") if isinstance(c, dict) else c for c in centre.get("overdue_cases") or []]
    numbers = [str(n) for n in found if n]
    if not numbers:
        return ""
    named = numbers[:LISTED_AT_MOST]
    total = _overdue_total(centre, len(numbers))
    more = f" 等{total}件" if total > len(named) else ""
    return "超期案件：" + "、".join(named) + more + "。"


def digest_event(period: str, centre: dict[str, Any], area_path: list[str] | None = None) -> EventIn:
    """One centre's digest as an event for the rules (its id is stable per day and centre); `area_path`
    is the centre's area from the county down (for the centre, area_leader and county_leader audiences)."""
    return EventIn(
        id=uuid.uuid5(DIGEST_NS, f"{period}:{centre['area']}"),
        type=DIGEST_DAILY,
        aggregate_id=f"digest:{centre['area']}",
        occurred_at=clock.now(),
        payload={
            "period": period,
            "area": centre["area"],
            "area_path": area_path or [centre["area"]],
            "centre_name": centre.get("name") or "",
            "overdue": centre.get("overdue") or 0,
            "due_today": centre.get("due_today") or 0,
            "overdue_case_count": _overdue_total(centre, len(centre.get("overdue_cases") or [])),
            "overdue_cases": centre.get("overdue_cases") or [],
            "overdue_list": _overdue_list(centre),
        },
    )


async def has_run(session: AsyncSession, period: str) -> bool:
    return await repo.has_run(session, DIGEST_JOB, period)


async def send_for_centres(
    session: AsyncSession, rules: list[Rule], period: str, centres: list[dict[str, Any]], now: datetime
) -> int | None:
    """Claim the day's digest and turn every centre with something overdue or due today into its
    notifications (the claim and the notifications commit together); None when another run has it."""
    if not await repo.claim_run(session, DIGEST_JOB, period, now):
        return None
    made = 0
    for centre in centres:
        if not centre["overdue"] and not centre["due_today"]:
            continue
        area = await directory.area(session, centre["area"])
        made += await apply_rules(session, rules, digest_event(period, centre, list(area.path) if area else None))
    return made
