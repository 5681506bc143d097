"""Each grid worker's pull feed: the changes a phone pulls (report.status, task, message, reference),
in an order that never skips one (see the repository)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.feed import repository

Entry = tuple[str, dict[str, Any]]  # (change type, its data)


async def append(session: AsyncSession, worker_id: str, entries: list[Entry], now: datetime) -> int:
    """Append changes for one worker; returns the new head seq."""
    return await repository.append(session, worker_id, entries, now)


async def append_each(session: AsyncSession, entries: dict[str, list[Entry]], now: datetime) -> dict[str, int]:
    """Changes for many workers at once (each worker's in the order given); returns each one's new head seq."""
    return await repository.append_each(session, entries, now)


async def append_to_each(session: AsyncSession, entries: dict[str, Entry], now: datetime) -> None:
    """One change for each of many workers (a directory change)."""
    await repository.append_to_each(session, entries, now)


async def head(session: AsyncSession, worker_id: str) -> tuple[int, int]:
    """(the worker's last seq, the lowest seq a cursor may still stand at)."""
    return await repository.head(session, worker_id)


async def since(session: AsyncSession, worker_id: str, after: int, limit: int) -> list[Any]:
    return await repository.since(session, worker_id, after, limit)


async def prune(session: AsyncSession, now: datetime, retention: timedelta) -> int:
    return await repository.prune(session, now - retention)
