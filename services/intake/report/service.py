"""Reports a grid worker filed from the phone (事件上报), and what cases says became of them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.report import repository
from shared.contracts.events import ReportStatus


async def insert_batch(
    session: AsyncSession, rows: list[dict[str, Any]], day: str, now: datetime, offset_ms: int | None
) -> dict[uuid.UUID, str]:
    """Store the new reports of a push (and the report.submitted events of the case-making ones) in one
    statement; rows whose id exists already are left alone. Returns the numbers of those stored now."""
    return await repository.insert_batch(session, rows, day, now, offset_ms)


async def existing(session: AsyncSession, ids: list[uuid.UUID]) -> dict[uuid.UUID, Any]:
    """The stored reports among `ids` (number, author, content hash), to judge a retried item."""
    return await repository.existing(session, ids)


async def recent_for_worker(session: AsyncSession, worker_id: str, since: datetime) -> list[Any]:
    return await repository.recent_for_worker(session, worker_id, since)


def _fields(status: ReportStatus) -> dict[str, Any]:
    return {
        "state": status.state,
        "case_id": uuid.UUID(status.case_id) if status.case_id else None,
        "case_number": status.case_number,
        "level": status.level,
        "reply": status.reply,
    }


async def apply_statuses(session: AsyncSession, statuses: list[ReportStatus], now: datetime) -> list[Any]:
    """`apply_status` for many reports, each given once, in one statement; each one's worker and number (None:
    not ours), in the order given."""
    found = await repository.apply_statuses(session, [(uuid.UUID(s.report_id), _fields(s)) for s in statuses], now)
    return [found.get(uuid.UUID(s.report_id)) for s in statuses]


async def apply_status(session: AsyncSession, status: ReportStatus, now: datetime) -> Any:
    """Record what cases says became of a report; returns its worker and number (None: not ours)."""
    return await repository.apply_status(
        session,
        uuid.UUID(status.report_id),
        {
            "state": status.state,
            "case_id": uuid.UUID(status.case_id) if status.case_id else None,
            "case_number": status.case_number,
            "level": status.level,
            "reply": status.reply,
        },
        now,
    )
