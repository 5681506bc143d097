"""The operators' queries on a service's outbox table (what is parked, pending or skipped; retry and
skip one row). Part of the outbox machinery, beside shared/outbox.py (publish and the relay)."""

from __future__ import annotations

from typing import Literal

from sqlalchemy import RowMapping, text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.clock import clock

OutboxStatus = Literal["parked", "pending", "skipped"]

_COLUMNS = """id, event_id, type, aggregate_id, destination, attempts, failures, next_attempt_at, delivered_at,
              parked_at, last_error, skipped_at, skip_reason, skipped_by"""
_STATUS: dict[str, str] = {
    "parked": "parked_at IS NOT NULL AND delivered_at IS NULL",
    "pending": "delivered_at IS NULL AND parked_at IS NULL",
    "skipped": "skipped_at IS NOT NULL",
}


async def list_rows(session: AsyncSession, schema: str, status: OutboxStatus, limit: int) -> list[RowMapping]:
    rows = await session.execute(
        text(f"SELECT {_COLUMNS} FROM {schema}.outbox WHERE {_STATUS[status]} ORDER BY id LIMIT :n"), {"n": limit}
    )
    return list(rows.mappings())


async def retry_row(session: AsyncSession, schema: str, row_id: int) -> RowMapping | None:
    """An undelivered event due again now, its failure count reset; None when there is none such."""
    row = await session.execute(
        text(
            f"""UPDATE {schema}.outbox SET parked_at = NULL, failures = 0, next_attempt_at = :now, lease_until = NULL
                WHERE id = :id AND delivered_at IS NULL RETURNING {_COLUMNS}"""
        ),
        {"id": row_id, "now": clock.now()},
    )
    return row.mappings().first()


async def skip_row(session: AsyncSession, schema: str, row_id: int, reason: str, actor: str) -> RowMapping | None:
    """Only a parked event can be skipped: a pending one is still being tried."""
    now = clock.now()
    row = await session.execute(
        text(
            f"""UPDATE {schema}.outbox SET delivered_at = :now, skipped_at = :now, skip_reason = :reason,
                    skipped_by = :actor, lease_until = NULL
                WHERE id = :id AND delivered_at IS NULL AND parked_at IS NOT NULL RETURNING {_COLUMNS}"""
        ),
        {"id": row_id, "now": now, "reason": reason, "actor": actor},
    )
    return row.mappings().first()
