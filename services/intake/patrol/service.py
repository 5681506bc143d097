"""Patrol logs (巡查日志, 一日双巡) are not cases: cases counts them. Each push tells cases once, with the
new patrols of that push counted per grid and day (a batch, not an event per patrol)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.db import outbox
from shared.clock import CHINA_TZ
from shared.contracts.events import PATROLS_COUNTED
from shared.outbox import Event, publish


async def tell_cases(session: AsyncSession, patrols: list[Any], worker_id: str, now: datetime) -> None:
    """`patrols`: the push's report items of kind `patrol` stored now (each once). The day is the patrol's
    own (occurred, else captured, else received), in China time."""
    counts: Counter[tuple[str, str]] = Counter()
    for item in patrols:
        when = item.occurred_at or item.captured_at or now
        counts[(item.grid or "", when.astimezone(CHINA_TZ).date().isoformat())] += 1
    if not counts:
        return
    payload = {
        "worker_id": worker_id,
        "counts": [{"worker_id": worker_id, "grid": g, "day": d, "n": n} for (g, d), n in sorted(counts.items())],
    }
    await publish(
        session,
        outbox,
        [Event(type=PATROLS_COUNTED, aggregate_id=f"patrols:{worker_id}", payload=payload, destinations=("cases",))],
    )
