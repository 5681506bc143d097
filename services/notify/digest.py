"""The daily digest (每日提醒) per centre: overdue and due-today clocks, to the centre's dispatchers'
inboxes. Once per day across replicas: the day's claim and the notifications commit together."""
from __future__ import annotations

import logging
import uuid
from typing import Any

import httpx
from sqlalchemy import text

from services.notify.directory import repository as directory
from services.notify.rule.engine import Rule
from shared.clock import CHINA_TZ, clock
from shared.db import Database

log = logging.getLogger("notify.digest")
DIGEST_NS = uuid.UUID("5b0f3c1e-6a57-4c7e-9a8e-0d1f2b3c4d5e")


async def send_daily_digest(db: Database, settings: Any, rules: list[Rule], force: bool = False) -> int:
    local = clock.now().astimezone(CHINA_TZ)
    if local.hour < settings.digest_hour and not force:
        return 0
    period = local.date().isoformat()
    async with db.unit_of_work() as session:
        done = (await session.execute(text("SELECT 1 FROM notify.job_runs WHERE job = 'digest' AND period = :p"), {"p": period})).first()
    if done:
        return 0
    async with httpx.AsyncClient(timeout=10) as client:
        resp = await client.get(settings.cases_url.rstrip("/") + "/internal/v1/digest", headers={"Authorization": f"Bearer {settings.service_token}"})
        resp.raise_for_status()
        digest = resp.json()
    made = 0
    async with db.unit_of_work() as session:
        claimed = (await session.execute(
            text("INSERT INTO notify.job_runs (job, period, started_at) VALUES ('digest', :p, :now) ON CONFLICT DO NOTHING RETURNING 1"),
            {"p": period, "now": clock.now()},
        )).first()
        if not claimed:
            return 0
        for centre in digest["centres"]:
            if not centre["overdue"] and not centre["due_today"]:
                continue
            event_id = uuid.uuid5(DIGEST_NS, f"{period}:{centre['area']}")
            body = f"{centre['name']}综治中心 {period}：超期未办 {centre['overdue']} 项，今日到期 {centre['due_today']} 项。"
            for user in await directory.dispatchers_of(session, centre["area"]):
                nid = uuid.uuid4()
                row = (await session.execute(
                    text("""INSERT INTO notify.notifications (id, event_id, event_type, rule, recipient, title, body, created_at)
                            VALUES (:id, :e, 'digest.daily', 'daily_digest', :r, :t, :b, :now)
                            ON CONFLICT ON CONSTRAINT uq_notifications_event_rule_recipient DO NOTHING RETURNING id"""),
                    {"id": nid, "e": event_id, "r": f"user:{user.username}", "t": f"每日提醒 {period}", "b": body, "now": clock.now()},
                )).first()
                if row:
                    await session.execute(
                        text("""INSERT INTO notify.deliveries (id, notification_id, channel, recipient, message_id, payload, state, created_at, delivered_at)
                                VALUES (:id, :n, 'inbox', :r, :m, '{}'::jsonb, 'delivered', :now, :now)"""),
                        {"id": uuid.uuid4(), "n": nid, "r": f"user:{user.username}", "m": f"msg_{uuid.uuid4().hex}", "now": clock.now()},
                    )
                    made += 1
    log.info("daily digest %s: %d notifications", period, made)
    return made
