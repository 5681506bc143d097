"""The delivery worker: webhooks to department systems and SMS, with retries and dead letters.

`deliver_due` claims due rows (`state` pending/failed, `next_attempt_at <= now`, no lease in force)
with `FOR UPDATE SKIP LOCKED` in chunks of up to `delivery_batch`, sets a lease (30 s plus the
timeout times the rounds a claimed row may wait for a slot) and commits at once; sends them with at most
`delivery_concurrency` requests in flight, each bounded by `webhook_timeout_seconds` in total (a slow
endpoint holds one slot for at most that long, the others keep flowing); and settles the results in
set-based updates every ~50 ms. A retry is a row whose `next_attempt_at` lies ahead: it waits in the
table, never in a slot.

Any number of replicas may run it. A worker killed mid-flight leaves its rows leased; when the lease
runs out another claims them and sends the same body under the same `webhook-id` (Standard Webhooks
receivers de-duplicate on it), so a message may arrive twice but never under two ids. Settling matches
the lease it claimed with, so a worker that lost its lease cannot overwrite a newer result. The
claim and settle transactions commit without waiting for the WAL flush (`synchronous_commit = off`):
a PostgreSQL crash may forget the last few of them, which only means a row is sent again under the
same webhook-id — what the contract allows anyway — and saves a disk flush per batch.

At most `delivery_per_endpoint` requests are in flight to one department's system, and a run holds at
most a few rounds of that many claimed rows per department: the rest are put back at once (no attempt
counted, their place in line kept) and claims skip that department until it has room again, so one slow
or down department cannot take every slot.

Shutdown (`stop_delivering`): runs stop claiming, give the rows they have not sent back at once, and
the sends in flight get a bounded time to finish before the session closes; a send cut short by the
close is given back too, never counted as an attempt (so a shutdown cannot make a delivery dead).

Outcomes: 2xx → delivered. 410 Gone → the endpoint is disabled (with the reason) and the delivery is
dead. Anything else (timeout, refused connection, 3xx — redirects are never followed —, 4xx, 5xx,
a refused target, a missing or disabled endpoint) → attempts+1 and the next wait from the schedule
with ±10 % jitter, or dead once the schedule is exhausted. SMS: quiet hours defer a non-major
message to their end (not a failure); a non-major one over the recipient's daily cap is `skipped` with
the reason (not sent; not a dead letter, which is for outages); a major one is neither capped nor counted.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from services.notify.config import NotifySettings
from services.notify.delivery import repository as repo
from services.notify.delivery.clients import DeliveryClients
from services.notify.delivery.sms import china_day
from services.notify.delivery.worker import DeliveryRun
from shared.clock import clock
from shared.db import Database
from shared.pii import PiiCipher

__all__ = ["deliver_due", "prune_deliveries", "stop_delivering"]
log = logging.getLogger("notify.delivery")
CANCEL_AFTER_CLOSE_SECONDS = 5.0


async def deliver_due(
    db: Database,
    settings: NotifySettings,
    cipher: PiiCipher,
    clients: DeliveryClients,
    *,
    max_seconds: float | None = 60.0,
) -> int:
    """Deliver everything due now (and what becomes due while it runs, for up to `max_seconds` of
    claiming), then return the number of deliveries settled (delivered, failed, dead or deferred)."""
    return await DeliveryRun(db, settings, cipher, clients, max_seconds).run()


async def stop_delivering(clients: DeliveryClients, runs: Iterable[asyncio.Future[Any]], grace_seconds: float) -> None:
    """Stop the worker for shutdown: no more claims, the sends in flight get `grace_seconds` to finish,
    then the clients close (a send still going is cut short and its row given back, not counted), and
    a run that still has not ended (its database is gone) is cancelled: its rows wait for their lease."""
    clients.begin_close()
    pending = {r for r in runs if not r.done()}
    if pending:
        _, pending = await asyncio.wait(pending, timeout=grace_seconds)
    await clients.close()
    if pending:
        _, pending = await asyncio.wait(pending, timeout=CANCEL_AFTER_CLOSE_SECONDS)
    for run in pending:
        log.warning("a delivery run did not end at shutdown: cancelled, its rows are retried when their lease runs out")
        run.cancel()
    if pending:
        await asyncio.wait(pending, timeout=1.0)


async def prune_deliveries(db: Database, keep: timedelta = timedelta(days=7), chunk: int = 5000) -> int:
    """Delivered webhook and SMS rows are history: delete those older than `keep`, in short
    transactions (long ones stall the SKIP LOCKED queue); SMS counters of past days go too. Dead
    letters stay for operators. Returns rows deleted. Meant for an hourly tick."""
    cut = clock.now() - keep
    deleted = 0
    while True:
        async with db.unit_of_work() as session:
            n = await repo.prune_delivered(session, cut, chunk)
        deleted += n
        if n < chunk:
            break
    async with db.unit_of_work() as session:
        await repo.prune_sms_counters(session, china_day(clock.now() - timedelta(days=2)))
    return deleted
