"""What the stats keep as things happen, beyond what the triggers count from the case and clock rows:
every revisit as its own record, and the patrol counts intake sends. Imports nothing of the case
domain but its row type, so the case-effects recorder may call it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.cases.case.models import CaseRow
from services.cases.stats import repository as repo


async def on_case_recorded(session: AsyncSession, case: CaseRow, action: str, actor: str, now: datetime) -> None:
    """Called for every case change's timeline entry: a revisit is kept as its own record (满意率 counts
    every revisit, also a second one after a dissatisfied reopen)."""
    if action == "revisit" and case.satisfaction:
        await repo.add_revisit(session, case.id, now, case.satisfaction, actor)


async def count_patrols(session: AsyncSession, payload: dict[str, Any]) -> None:
    """A batch of patrol counts from intake (巡查日志: worker, grid, day, n)."""
    rows = [
        {"worker_id": str(c["worker_id"]), "grid": str(c["grid"]), "day": str(c["day"]), "n": int(c["n"])}
        for c in payload.get("counts") or []
        if c.get("worker_id") and c.get("grid") and c.get("day") and int(c.get("n") or 0) > 0
    ]
    await repo.add_patrols(session, rows)


async def rebuild(session: AsyncSession) -> None:
    """Recount every rollup from the case tables (after a bulk load)."""
    await repo.rebuild(session)
