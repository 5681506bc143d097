"""Operators' view of deliveries: list by state and channel, and send a failed or dead one again; and
what the other domains ask of deliveries (the rules record new ones, an endpoint set again brings its
failed ones forward)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.notify.delivery import repository as repo
from services.notify.delivery.exceptions import (
    AlreadyDelivered,
    DeliveryNotFound,
    DepartmentNeedsWebhook,
    NotRetriedByOperators,
)
from services.notify.delivery.schemas import DeliveryOut, DeliveryPage, RetryResult
from shared.clock import clock
from shared.metrics import Reading
from shared.paging import decode_cursor, encode_cursor
from shared.pii import PiiCipher, mask_phone

RETRYABLE_CHANNELS = repo.WORKER_CHANNELS


def _shown_target(row: Any, cipher: PiiCipher) -> str | None:
    if row.channel != "sms":
        return row.target
    try:
        return mask_phone(cipher.decrypt(row.target))
    except Exception:  # a key no longer held: show nothing rather than fail the list
        return None


def item(row: Any, cipher: PiiCipher) -> DeliveryOut:
    payload = row.payload if isinstance(row.payload, dict) else {}
    return DeliveryOut(
        id=row.id,
        notification_id=row.notification_id,
        channel=row.channel,
        recipient=row.recipient,
        target=_shown_target(row, cipher),
        message_id=row.message_id,
        event_type=payload.get("type") if row.channel == "webhook" else None,
        state=row.state,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        last_error=row.last_error,
        last_status=row.last_status,
        created_at=row.created_at,
        delivered_at=row.delivered_at,
        event_at=row.event_at,
    )


async def list_deliveries(
    session: AsyncSession, cipher: PiiCipher, state: str | None, channel: str | None, cursor: str | None, limit: int
) -> DeliveryPage:
    after = decode_cursor(cursor) if cursor else None
    rows = await repo.list_page(session, state, channel, after, limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return DeliveryPage(
        items=[item(r, cipher) for r in rows],
        next_cursor=encode_cursor(rows[-1].created_at, rows[-1].id) if more and rows else None,
    )


async def retry(session: AsyncSession, cipher: PiiCipher, delivery_id: uuid.UUID) -> DeliveryOut:
    """A failed or dead delivery goes back to pending, due now, its attempts kept (a dead one then gets
    one more attempt; if that fails it is dead again). A pending one is simply made due now."""
    row = await repo.get(session, delivery_id, for_update=True)
    if row is None:
        raise DeliveryNotFound()
    if row.state == "delivered":
        raise AlreadyDelivered()
    if row.channel not in RETRYABLE_CHANNELS:
        raise NotRetriedByOperators(row.channel)
    return item(await repo.requeue(session, delivery_id, clock.now()), cipher)


async def retry_matching(
    session: AsyncSession, states: list[str], channel: str | None, department: str | None, since: datetime | None
) -> RetryResult:
    """Bulk replay after an outage: every failed/dead/skipped delivery that matches goes back to pending,
    due now, attempts kept. Returns how many."""
    if department and channel not in (None, "webhook"):
        raise DepartmentNeedsWebhook()
    n = await repo.requeue_matching(session, states, channel, department, since, clock.now())
    return RetryResult(requeued=n)


async def record(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Keep the deliveries the rules made for new notifications (a repeat is not kept twice)."""
    await repo.insert_many(session, rows)


async def bring_forward_failed(session: AsyncSession, department_code: str, now: datetime) -> int:
    """The department's endpoint was set again: its failed webhook deliveries are due now."""
    return await repo.bring_forward_failed(session, department_code, now)


DELIVERY_STATES = ("pending", "delivered", "failed", "dead")


async def operator_readings(session: AsyncSession, parked_events: int) -> list[Reading]:
    """What operators page on (/metrics): deliveries by state, and the dead letters — dead deliveries
    and parked (poison) events of notify's outbox."""
    counts = await repo.count_by_state(session)
    readings = [
        Reading("notify_deliveries", "Deliveries by state", counts.get(state, 0), {"state": state})
        for state in sorted({*DELIVERY_STATES, *counts})
    ]
    readings.append(
        Reading("notify_dead_letters", "Dead letters awaiting an operator", counts.get("dead", 0), {"kind": "delivery"})
    )
    readings.append(
        Reading("notify_dead_letters", "Dead letters awaiting an operator", parked_events, {"kind": "event"})
    )
    return readings


async def prune_settled_before(session: AsyncSession, before: datetime, limit: int) -> int:
    """For the notification retention: delivered rows made before `before` go (dead, failed and pending
    ones stay, and keep their notification)."""
    return await repo.prune_settled_before(session, before, limit)
