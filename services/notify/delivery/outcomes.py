"""What one attempt came to, and how a batch of outcomes is written back: set-based, in one short
transaction, each row matched on the lease it was claimed with."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from services.notify.delivery import repository as repo
from services.notify.delivery.policy import JITTER
from services.notify.endpoint import service as endpoint_service
from shared.clock import clock
from shared.db import Database, relaxed_commit

log = logging.getLogger("notify.delivery")


@dataclass(eq=False)
class Claimed:
    """A delivery row as claimed by a worker (`lease` is the lease_until it holds)."""

    id: Any
    channel: str
    target: str | None
    message_id: str
    payload: Any
    attempts: int
    lease: datetime
    event_at: datetime | None


@dataclass
class Outcome:
    row: Claimed
    kind: str  # delivered | failed | dead | skipped | defer | gone | release (shutdown: back, no attempt)
    status: int | None = None
    error: str | None = None
    until: datetime | None = None  # defer: when to try again (not a failure)
    attempted: int = 1  # dead/skipped: whether an attempt was made (0 for an SMS over the daily cap)
    sms_key: tuple[str, str] | None = None  # the SMS counter to give back when the send failed
    disable_reason: str | None = None  # gone: why the endpoint is disabled


def body_of(payload: Any) -> bytes:
    """The webhook body: the stored JSON value, serialised the same way at every attempt."""
    if isinstance(payload, (bytes, bytearray)):
        return bytes(payload)
    if isinstance(payload, str):
        return payload.encode()
    return orjson.dumps(payload)


def as_dict(payload: Any) -> dict[str, Any]:
    if isinstance(payload, dict):
        return payload
    try:
        value = orjson.loads(payload)
    except (orjson.JSONDecodeError, TypeError):
        return {}
    return value if isinstance(value, dict) else {}


async def settle(db: Database, outcomes: Sequence[Outcome], schedule: Sequence[float]) -> None:
    """Write a batch of outcomes: delivered, failed (next wait from `schedule`, or dead when it is
    exhausted), dead at once, skipped (not sent, with the reason: not an outage), deferred, released
    (a shutdown cut the send short: due again, no attempt counted); 410s disable their endpoints;
    SMS that were not sent give their count back."""
    now = clock.now()
    by: dict[str, list[Outcome]] = {
        "delivered": [],
        "failed": [],
        "dead": [],
        "skipped": [],
        "defer": [],
        "release": [],
    }
    gone: dict[str, str] = {}
    released: list[tuple[str, str]] = []
    for o in outcomes:
        if o.kind == "gone":
            by["dead"].append(o)
            gone[o.row.target or ""] = o.disable_reason or "answered 410 Gone"
        else:
            by[o.kind].append(o)
        if o.sms_key and o.kind != "delivered":
            released.append(o.sms_key)

    def ids(kind: str) -> tuple[list[Any], list[datetime]]:
        return [o.row.id for o in by[kind]], [o.row.lease for o in by[kind]]

    async with db.unit_of_work() as session:
        await relaxed_commit(session)
        i, leases = ids("delivered")
        await repo.mark_delivered(session, i, leases, [o.status for o in by["delivered"]], now)
        i, leases = ids("failed")
        await repo.mark_failed(
            session,
            i,
            leases,
            [o.error or "failed" for o in by["failed"]],
            [o.status for o in by["failed"]],
            now,
            schedule,
            JITTER,
        )
        i, leases = ids("dead")
        await repo.mark_dead(
            session,
            i,
            leases,
            [o.error or "dead" for o in by["dead"]],
            [o.status for o in by["dead"]],
            [o.attempted for o in by["dead"]],
        )
        i, leases = ids("skipped")
        await repo.mark_dead(
            session,
            i,
            leases,
            [o.error or "skipped" for o in by["skipped"]],
            [o.status for o in by["skipped"]],
            [o.attempted for o in by["skipped"]],
            state="skipped",
        )
        i, leases = ids("defer")
        await repo.defer(session, i, leases, [o.until or now for o in by["defer"]])
        i, leases = ids("release")
        await repo.release(session, i, leases)
        if gone:
            await endpoint_service.disable_gone(session, gone, now)
        if released:
            await repo.release_sms(session, released)
    for code, reason in gone.items():
        log.warning("webhook endpoint %s disabled: %s", code, reason)
