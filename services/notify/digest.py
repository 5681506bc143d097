"""The daily digest (每日提醒) per centre: overdue and due-today clocks. Who hears of it, through which
channels and in which words is the `digest.daily` rule's (rules.yaml), like any other event. Once per
day across replicas: the day's claim and the notifications commit together."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import httpx
from sqlalchemy import text

from services.notify.directory import repository as directory
from services.notify.rule.engine import DIGEST_DAILY, Rule
from services.notify.rule.service import apply_rules
from shared.clock import CHINA_TZ, clock
from shared.db import Database
from shared.inbox import EventIn

log = logging.getLogger("notify.digest")
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
    numbers = [c.get("case_number") if isinstance(c, dict) else c for c in centre.get("overdue_cases") or []]
    numbers = [str(n) for n in numbers if n]
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


async def send_daily_digest(db: Database, settings: Any, rules: list[Rule], force: bool = False) -> int:
    local = clock.now().astimezone(CHINA_TZ)
    if local.hour < settings.digest_hour and not force:
        return 0
    period = local.date().isoformat()
    async with db.unit_of_work() as session:
        done = (
            await session.execute(
                text("SELECT 1 FROM notify.job_runs WHERE job = 'digest' AND period = :p"), {"p": period}
            )
        ).first()
    if done:
        return 0
    async with httpx.AsyncClient(timeout=10) as client:
        resp = await client.get(
            settings.cases_url.rstrip("/") + "/internal/v1/digest",
            headers={"Authorization": f"Bearer {settings.service_token}"},
        )
        resp.raise_for_status()
        digest = resp.json()
    made = 0
    async with db.unit_of_work() as session:
        claimed = (
            await session.execute(
                text(
                    "INSERT INTO notify.job_runs (job, period, started_at) VALUES ('digest', :p, :now) ON CONFLICT DO NOTHING RETURNING 1"
                ),
                {"p": period, "now": clock.now()},
            )
        ).first()
        if not claimed:
            return 0
        for centre in digest["centres"]:
            if not centre["overdue"] and not centre["due_today"]:
                continue
            area = await directory.area(session, centre["area"])
            made += await apply_rules(session, rules, digest_event(period, centre, list(area.path) if area else None))
    log.info("daily digest %s: %d deliveries", period, made)
    return made
