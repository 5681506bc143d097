"""The daily digest's tick: once per day across replicas, from the digest hour on (China time), the
day's overdue and due-today counts per centre are fetched from cases and told as the rules say."""

from __future__ import annotations

import logging
from typing import Any

import httpx

from services.notify.config import NotifySettings
from services.notify.context import NotifyContext
from services.notify.digest import service
from shared.clock import CHINA_TZ, clock

log = logging.getLogger("notify.digest")


async def _fetch_centres(settings: NotifySettings) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(timeout=10) as client:
        resp = await client.get(
            settings.cases_url.rstrip("/") + "/internal/v1/digest",
            headers={"Authorization": f"Bearer {settings.service_token}"},
        )
        resp.raise_for_status()
        centres: list[dict[str, Any]] = resp.json()["centres"]
        return centres


async def send_daily_digest(ctx: NotifyContext, force: bool = False) -> int:
    """Send today's digest unless it is before the digest hour (`force`: at any hour) or it was sent;
    returns the deliveries made."""
    local = clock.now().astimezone(CHINA_TZ)
    if local.hour < ctx.settings.digest_hour and not force:
        return 0
    period = local.date().isoformat()
    async with ctx.db.unit_of_work() as session:
        done = await service.has_run(session, period)
    if done:
        return 0
    centres = await _fetch_centres(ctx.settings)
    async with ctx.db.unit_of_work() as session:
        made = await service.send_for_centres(session, ctx.rules, period, centres, clock.now())
    if made is None:
        return 0
    log.info("daily digest %s: %d deliveries", period, made)
    return made
