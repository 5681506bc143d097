"""All SQL of deliveries: the worker's claim and set-based settling, the SMS counters, and the
operators' reads and retry.

A claimed row carries its lease (`lease_until`, unique enough per claim); settling matches it, so a
worker whose lease ran out (it hung, another replica took the row over) cannot overwrite the newer
attempt's result.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, Result, and_, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.notify.delivery.models import deliveries

WORKER_CHANNELS = ("webhook", "sms")


def _count(result: Result[Any]) -> int:
    """The rows an UPDATE or DELETE touched."""
    return cast("CursorResult[Any]", result).rowcount or 0


_CLAIM = text(
    """WITH c AS (
         SELECT id FROM notify.deliveries
         WHERE state IN ('pending', 'failed') AND next_attempt_at <= :now
           AND (lease_until IS NULL OR lease_until < :now)
           AND channel IN ('webhook', 'sms')
           AND NOT (channel = 'webhook' AND target = ANY(CAST(:skip AS text[])))
         ORDER BY next_attempt_at
         LIMIT :n
         FOR UPDATE SKIP LOCKED)
       UPDATE notify.deliveries d SET lease_until = :lease
       FROM c WHERE d.id = c.id
       RETURNING d.id, d.channel, d.target, d.message_id, d.payload, d.attempts, d.lease_until, d.event_at"""
)


async def claim_due(
    session: AsyncSession, now: datetime, lease_until: datetime, limit: int, skip_departments: Sequence[str] = ()
) -> list[Any]:
    """Lease up to `limit` due rows, oldest due first; webhooks to `skip_departments` (their share is
    claimed already) are left for later."""
    result = await session.execute(
        _CLAIM, {"now": now, "lease": lease_until, "n": limit, "skip": list(skip_departments)}
    )
    return list(result.all())


_UNNEST_BASE = "unnest(CAST(:ids AS uuid[]), CAST(:leases AS timestamptz[])"


async def mark_delivered(
    session: AsyncSession,
    ids: Sequence[uuid.UUID],
    leases: Sequence[datetime],
    statuses: Sequence[int | None],
    now: datetime,
) -> int:
    if not ids:
        return 0
    result = await session.execute(
        text(
            f"""UPDATE notify.deliveries d SET state = 'delivered', delivered_at = :now, attempts = d.attempts + 1,
                       last_status = u.status, last_error = NULL, lease_until = NULL, next_attempt_at = NULL
                FROM {_UNNEST_BASE}, CAST(:statuses AS int[])) AS u(id, lease, status)
                WHERE d.id = u.id AND d.lease_until = u.lease"""
        ),
        {"ids": list(ids), "leases": list(leases), "statuses": list(statuses), "now": now},
    )
    return _count(result)


async def mark_failed(
    session: AsyncSession,
    ids: Sequence[uuid.UUID],
    leases: Sequence[datetime],
    errors: Sequence[str],
    statuses: Sequence[int | None],
    now: datetime,
    schedule: Sequence[float],
    jitter: float,
) -> int:
    """One more failed attempt each: wait schedule[attempts-1] (± jitter), or dead when it is exhausted."""
    if not ids:
        return 0
    result = await session.execute(
        text(
            f"""UPDATE notify.deliveries d SET
                       attempts = d.attempts + 1, last_status = u.status, lease_until = NULL,
                       state = CASE WHEN d.attempts + 1 > cardinality(CAST(:sched AS float8[])) THEN 'dead'
                                    ELSE 'failed' END,
                       last_error = CASE WHEN d.attempts + 1 > cardinality(CAST(:sched AS float8[]))
                                         THEN 'gave up after ' || (d.attempts + 1) || ' attempts; last: ' || u.err
                                         ELSE u.err END,
                       next_attempt_at = CASE WHEN d.attempts + 1 > cardinality(CAST(:sched AS float8[])) THEN NULL
                                         ELSE CAST(:now AS timestamptz) + make_interval(secs =>
                                              (CAST(:sched AS float8[]))[d.attempts + 1]
                                              * (1 - :jitter + random() * 2 * :jitter)) END
                FROM {_UNNEST_BASE}, CAST(:errors AS text[]), CAST(:statuses AS int[])) AS u(id, lease, err, status)
                WHERE d.id = u.id AND d.lease_until = u.lease"""
        ),
        {
            "ids": list(ids),
            "leases": list(leases),
            "errors": list(errors),
            "statuses": list(statuses),
            "now": now,
            "sched": [float(s) for s in schedule],
            "jitter": jitter,
        },
    )
    return _count(result)


async def mark_dead(
    session: AsyncSession,
    ids: Sequence[uuid.UUID],
    leases: Sequence[datetime],
    errors: Sequence[str],
    statuses: Sequence[int | None],
    attempted: Sequence[int],
    state: str = "dead",
) -> int:
    """Dead at once (410 Gone), or `skipped` (an SMS over the daily cap: not sent, not an outage):
    no schedule applies."""
    if not ids:
        return 0
    result = await session.execute(
        text(
            f"""UPDATE notify.deliveries d SET state = :state, attempts = d.attempts + u.attempted,
                       last_error = u.err, last_status = u.status, lease_until = NULL, next_attempt_at = NULL
                FROM {_UNNEST_BASE}, CAST(:errors AS text[]), CAST(:statuses AS int[]), CAST(:attempted AS int[]))
                     AS u(id, lease, err, status, attempted)
                WHERE d.id = u.id AND d.lease_until = u.lease"""
        ),
        {
            "ids": list(ids),
            "leases": list(leases),
            "errors": list(errors),
            "statuses": list(statuses),
            "attempted": list(attempted),
            "state": state,
        },
    )
    return _count(result)


async def defer(
    session: AsyncSession, ids: Sequence[uuid.UUID], leases: Sequence[datetime], until: Sequence[datetime]
) -> int:
    """Not now, and not a failure (SMS quiet hours): the row waits, its attempts unchanged."""
    if not ids:
        return 0
    result = await session.execute(
        text(
            f"""UPDATE notify.deliveries d SET next_attempt_at = u.until, lease_until = NULL
                FROM {_UNNEST_BASE}, CAST(:until AS timestamptz[])) AS u(id, lease, until)
                WHERE d.id = u.id AND d.lease_until = u.lease"""
        ),
        {"ids": list(ids), "leases": list(leases), "until": list(until)},
    )
    return _count(result)


async def release(session: AsyncSession, ids: Sequence[uuid.UUID], leases: Sequence[datetime]) -> int:
    """A shutdown cut the send short: the row is free for the next worker at once, its attempts unchanged."""
    if not ids:
        return 0
    result = await session.execute(
        text(
            f"""UPDATE notify.deliveries d SET lease_until = NULL
                FROM {_UNNEST_BASE}) AS u(id, lease)
                WHERE d.id = u.id AND d.lease_until = u.lease"""
        ),
        {"ids": list(ids), "leases": list(leases)},
    )
    return _count(result)


# ---- SMS daily cap ------------------------------------------------------------------------------


async def reserve_sms(session: AsyncSession, phone_hash: str, day: str, cap: int) -> bool:
    """Count one SMS for (recipient, day) unless the cap is reached. Atomic across replicas."""
    result = await session.execute(
        text(
            """INSERT INTO notify.sms_counters AS c (phone_hash, day, sent) VALUES (:h, :day, 1)
               ON CONFLICT (phone_hash, day) DO UPDATE SET sent = c.sent + 1 WHERE c.sent < :cap
               RETURNING sent"""
        ),
        {"h": phone_hash, "day": day, "cap": cap},
    )
    return result.first() is not None


async def release_sms(session: AsyncSession, keys: Sequence[tuple[str, str]]) -> None:
    """Give back the counts of messages that were not sent after all (the gateway failed)."""
    if not keys:
        return
    await session.execute(
        text(
            """UPDATE notify.sms_counters c SET sent = greatest(c.sent - u.n, 0)
               FROM (SELECT h, day, count(*) AS n
                     FROM unnest(CAST(:hashes AS text[]), CAST(:days AS text[])) AS x(h, day)
                     GROUP BY h, day) u
               WHERE c.phone_hash = u.h AND c.day = u.day"""
        ),
        {"hashes": [k[0] for k in keys], "days": [k[1] for k in keys]},
    )


async def prune_sms_counters(session: AsyncSession, before_day: str) -> int:
    result = await session.execute(text("DELETE FROM notify.sms_counters WHERE day < :day"), {"day": before_day})
    return _count(result)


async def prune_delivered(session: AsyncSession, before: datetime, limit: int) -> int:
    """Delete up to `limit` delivered webhook/SMS rows delivered before `before` (history; dead letters stay)."""
    result = await session.execute(
        text(
            """DELETE FROM notify.deliveries WHERE id IN (
                 SELECT id FROM notify.deliveries
                 WHERE state = 'delivered' AND channel IN ('webhook', 'sms') AND delivered_at < :before
                 LIMIT :n)"""
        ),
        {"before": before, "n": limit},
    )
    return _count(result)


async def bring_forward_failed(session: AsyncSession, department_code: str, now: datetime) -> int:
    """An operator set the department's endpoint again: its failed webhook deliveries are due now
    (attempts kept; a lease in force stays, so nothing is sent twice side by side)."""
    result = await session.execute(
        text(
            """UPDATE notify.deliveries SET next_attempt_at = :now
               WHERE state = 'failed' AND channel = 'webhook' AND target = :code AND next_attempt_at > :now"""
        ),
        {"now": now, "code": department_code},
    )
    return _count(result)


# ---- operators ----------------------------------------------------------------------------------


async def list_page(
    session: AsyncSession,
    state: str | None,
    channel: str | None,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[Any]:
    """Newest first, keyset-paged on (created_at, id)."""
    q = select(deliveries)
    if state:
        q = q.where(deliveries.c.state == state)
    if channel:
        q = q.where(deliveries.c.channel == channel)
    if after:
        at, rid = after
        q = q.where(or_(deliveries.c.created_at < at, and_(deliveries.c.created_at == at, deliveries.c.id < rid)))
    q = q.order_by(deliveries.c.created_at.desc(), deliveries.c.id.desc()).limit(limit)
    return list((await session.execute(q)).all())


async def get(session: AsyncSession, delivery_id: uuid.UUID, for_update: bool = False) -> Any | None:
    q = select(deliveries).where(deliveries.c.id == delivery_id)
    if for_update:
        q = q.with_for_update()
    return (await session.execute(q)).first()


async def requeue_matching(
    session: AsyncSession,
    states: Sequence[str],
    channel: str | None,
    department: str | None,
    since: datetime | None,
    now: datetime,
) -> int:
    """Bulk replay: every matching row of the worker's channels back to pending, due now (attempts kept)."""
    where = ["state = ANY(CAST(:states AS text[]))", "channel = ANY(CAST(:channels AS text[]))"]
    params: dict[str, Any] = {
        "states": list(states),
        "channels": [channel] if channel else list(WORKER_CHANNELS),
        "now": now,
    }
    if department:
        where.append("channel = 'webhook' AND target = :department")
        params["department"] = department
    if since:
        where.append("created_at >= :since")
        params["since"] = since
    result = await session.execute(
        text(f"UPDATE notify.deliveries SET state = 'pending', next_attempt_at = :now WHERE {' AND '.join(where)}"),
        params,
    )
    return _count(result)


async def requeue(session: AsyncSession, delivery_id: uuid.UUID, now: datetime) -> Any:
    """Back to pending, due now; attempts and the last error are kept. A lease in force stays, so an
    attempt in flight still settles as usual (and is not sent a second time beside it)."""
    result = await session.execute(
        update(deliveries)
        .where(deliveries.c.id == delivery_id)
        .values(state="pending", next_attempt_at=now)
        .returning(*deliveries.c)
    )
    return result.first()


# ---- the rules' new deliveries ----------------------------------------------------------------------


_DELIVERY_COLUMNS = (
    "id",
    "notification_id",
    "channel",
    "recipient",
    "target",
    "message_id",
    "payload",
    "state",
    "last_error",
    "next_attempt_at",
    "delivered_at",
    "event_at",
    "now",
)


async def insert_many(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Insert the deliveries of new notifications (a repeat of a notification's channel is not)."""
    if not rows:
        return
    # one statement over arrays (an executemany runs each row alone)
    await session.execute(
        text(
            """INSERT INTO notify.deliveries
                 (id, notification_id, channel, recipient, target, message_id, payload, state,
                 last_error, next_attempt_at, delivered_at, event_at, created_at)
               SELECT i, n, c, r, t, m, CAST(p AS jsonb), s, e, na, da, ea, now_
               FROM unnest(CAST(:id AS uuid[]), CAST(:notification_id AS uuid[]), CAST(:channel AS text[]),
                           CAST(:recipient AS text[]), CAST(:target AS text[]), CAST(:message_id AS text[]),
                           CAST(:payload AS text[]), CAST(:state AS text[]), CAST(:last_error AS text[]),
                           CAST(:next_attempt_at AS timestamptz[]), CAST(:delivered_at AS timestamptz[]),
                           CAST(:event_at AS timestamptz[]), CAST(:now AS timestamptz[]))
                    AS u(i, n, c, r, t, m, p, s, e, na, da, ea, now_)
               ON CONFLICT ON CONSTRAINT uq_deliveries_notification_channel DO NOTHING"""
        ),
        {k: [row[k] for row in rows] for k in _DELIVERY_COLUMNS},
    )


async def count_by_state(session: AsyncSession) -> dict[str, int]:
    """Deliveries per state, for /metrics (an index-only pass over ix_deliveries_state)."""
    rows = await session.execute(text("SELECT state, count(*) AS n FROM notify.deliveries GROUP BY state"))
    return {r.state: r.n for r in rows}


async def prune_settled_before(session: AsyncSession, before: datetime, limit: int) -> int:
    """Delete up to `limit` delivered rows of any channel made before `before` (the notification
    retention; in-app and phone messages go with their notification, dead letters stay)."""
    result = await session.execute(
        text(
            """DELETE FROM notify.deliveries WHERE id IN (
                 SELECT id FROM notify.deliveries WHERE state = 'delivered' AND created_at < :before LIMIT :n)"""
        ),
        {"before": before, "n": limit},
    )
    return _count(result)
