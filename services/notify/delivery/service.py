"""Operators' view of deliveries: list by state and channel, and send a failed or dead one again."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from services.notify.delivery import repository as repo
from shared.clock import clock
from shared.errors import Conflict, NotFound, Unprocessable
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


def item(row: Any, cipher: PiiCipher) -> dict[str, Any]:
    payload = row.payload if isinstance(row.payload, dict) else {}
    return {
        "id": row.id,
        "notification_id": row.notification_id,
        "channel": row.channel,
        "recipient": row.recipient,
        "target": _shown_target(row, cipher),
        "message_id": row.message_id,
        "event_type": payload.get("type") if row.channel == "webhook" else None,
        "state": row.state,
        "attempts": row.attempts,
        "next_attempt_at": row.next_attempt_at,
        "last_error": row.last_error,
        "last_status": row.last_status,
        "created_at": row.created_at,
        "delivered_at": row.delivered_at,
        "event_at": row.event_at,
    }


async def list_deliveries(
    session: Any, cipher: PiiCipher, state: str | None, channel: str | None, cursor: str | None, limit: int
) -> dict[str, Any]:
    after = decode_cursor(cursor) if cursor else None
    rows = await repo.list_page(session, state, channel, after, limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return {
        "items": [item(r, cipher) for r in rows],
        "next_cursor": encode_cursor(rows[-1].created_at, rows[-1].id) if more and rows else None,
    }


async def retry(session: Any, cipher: PiiCipher, delivery_id: uuid.UUID) -> dict[str, Any]:
    """A failed or dead delivery goes back to pending, due now, its attempts kept (a dead one then gets
    one more attempt; if that fails it is dead again). A pending one is simply made due now."""
    row = await repo.get(session, delivery_id, for_update=True)
    if row is None:
        raise NotFound("投递记录不存在")
    if row.state == "delivered":
        raise Conflict("该投递已成功送达，无需重试")
    if row.channel not in RETRYABLE_CHANNELS:
        raise Conflict(f"{row.channel} 渠道的投递不由操作员重试")
    return item(await repo.requeue(session, delivery_id, clock.now()), cipher)


async def retry_matching(
    session: Any, states: list[str], channel: str | None, department: str | None, since: datetime | None
) -> dict[str, Any]:
    """Bulk replay after an outage: every failed/dead/skipped delivery that matches goes back to pending,
    due now, attempts kept. Returns how many."""
    if department and channel not in (None, "webhook"):
        raise Unprocessable(
            "department: 只有 webhook 投递属于部门",
            errors=[
                {
                    "loc": ["body", "department"],
                    "msg": "only webhook deliveries have a department",
                    "type": "value_error",
                }
            ],
        )
    n = await repo.requeue_matching(session, states, channel, department, since, clock.now())
    return {"requeued": n}
