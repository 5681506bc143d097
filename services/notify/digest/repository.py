"""All SQL of the daily jobs' runs: one replica claims a (job, period) and runs it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.notify.digest.models import job_runs


async def has_run(session: AsyncSession, job: str, period: str) -> bool:
    found = await session.execute(select(job_runs.c.job).where(job_runs.c.job == job, job_runs.c.period == period))
    return found.first() is not None


async def claim_run(session: AsyncSession, job: str, period: str, now: datetime) -> bool:
    """Claim the job's run for the period; False when another run has it already."""
    claimed = await session.execute(
        pg_insert(job_runs)
        .values(job=job, period=period, started_at=now)
        .on_conflict_do_nothing()
        .returning(job_runs.c.job)
    )
    return claimed.first() is not None
