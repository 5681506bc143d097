"""What the stats domain does with the events it receives: intake's patrol counts (patrols.counted)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.cases.context import CasesContext
from services.cases.stats import recording
from shared.inbox import EventIn


async def on_patrols_counted(session: AsyncSession, event: EventIn, ctx: CasesContext) -> None:
    """Patrol reports (巡查日志) are counted, not made into cases: one batch per push."""
    await recording.count_patrols(session, event.payload)
