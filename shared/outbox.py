"""Transactional outbox and its HTTP relay (ARCHITECTURE.md: outbox → HTTP relay → inbox).

A service writes events with `publish()` in the same transaction as the change. The relay claims
undelivered rows with `FOR UPDATE SKIP LOCKED` under a short lease, POSTs them in batches to the
consumer's `/internal/v1/events` (a batch is split into POSTs of at most `max_post_bytes`, and halved
again if the consumer still answers 413), and marks what the consumer took. Per aggregate (one case, one
report) only the oldest undelivered event is handed out, so a consumer sees each aggregate's events
in order. Writers of one aggregate hold its row lock when they publish, so ids of one aggregate
commit in order. Transport failures back off and never give up; an event the consumer itself keeps
refusing is parked after `max_failures` and shown to operators, never dropped; the later events of
its aggregate stay held behind it until an operator retries or skips it (shared/outbox_admin.py).

One of shared's database machinery modules (with db.py, inbox.py and outbox_repository.py).
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

import httpx
import orjson
from sqlalchemy import (
    BigInteger,
    Column,
    CursorResult,
    DateTime,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.ext.asyncio import AsyncSession

from shared.clock import clock
from shared.db import Database, error_summary, relaxed_commit
from shared.logging import scrub

log = logging.getLogger("shared.outbox")


def outbox_table(metadata: MetaData) -> Table:
    return Table(
        "outbox",
        metadata,
        Column("id", BigInteger, primary_key=True, autoincrement=True),
        Column("event_id", UUID(as_uuid=True), nullable=False),
        Column("type", Text, nullable=False),
        Column("aggregate_id", Text, nullable=False),
        Column("destination", Text, nullable=False),
        Column("payload", JSONB, nullable=False),
        Column("occurred_at", DateTime(timezone=True), nullable=False),
        Column("attempts", Integer, nullable=False, server_default="0"),
        Column("failures", Integer, nullable=False, server_default="0"),
        Column("next_attempt_at", DateTime(timezone=True), nullable=False),
        Column("lease_until", DateTime(timezone=True)),
        Column("delivered_at", DateTime(timezone=True)),
        Column("parked_at", DateTime(timezone=True)),
        Column("last_error", Text),
        Column("skipped_at", DateTime(timezone=True)),  # an operator gave it up (kept, never pruned)
        Column("skip_reason", Text),
        Column("skipped_by", Text),
        UniqueConstraint("event_id", "destination", name="uq_outbox_event_destination"),
        Index(
            "ix_outbox_pending",
            "destination",
            "aggregate_id",
            "id",
            postgresql_where=text("delivered_at IS NULL"),
        ),
        Index(
            "ix_outbox_due", "destination", "id", postgresql_where=text("delivered_at IS NULL")
        ),  # the claim's id order
        postgresql_with={"fillfactor": 50},  # room for the lease as a heap-only update (migration 0031)
    )


def inbox_table(metadata: MetaData) -> Table:
    return Table(
        "inbox",
        metadata,
        Column("event_id", UUID(as_uuid=True), primary_key=True),
        Column("type", Text, nullable=False),
        Column("source", Text, nullable=False),
        Column("processed_at", DateTime(timezone=True), nullable=False),
        Index("ix_inbox_processed_at", "processed_at"),  # the retention tick (shared/inbox.py prune_inbox)
    )


@dataclass
class Event:
    """An event to publish. `destinations` are consumer names known to the relay."""

    type: str
    aggregate_id: str
    payload: dict[str, Any]
    destinations: tuple[str, ...]
    event_id: uuid.UUID = field(default_factory=uuid.uuid4)
    occurred_at: datetime | None = None


async def publish(session: AsyncSession, outbox: Table, events: Iterable[Event]) -> int:
    """Write events in the caller's transaction; one row per destination. Returns rows written."""
    now = clock.now()
    rows = [(ev, dest) for ev in events for dest in ev.destinations]
    if rows:
        # one statement over arrays, the payload encoded once per event: an executemany runs each row alone
        encoded = {id(ev): orjson.dumps(ev.payload, option=orjson.OPT_NON_STR_KEYS).decode() for ev, _ in rows}
        await session.execute(
            text(
                f"""INSERT INTO {outbox.fullname}
                      (event_id, type, aggregate_id, destination, payload, occurred_at, next_attempt_at)
                    SELECT e, t, a, d, CAST(p AS jsonb), o, :now
                    FROM unnest(CAST(:e AS uuid[]), CAST(:t AS text[]), CAST(:a AS text[]), CAST(:d AS text[]),
                                CAST(:p AS text[]), CAST(:o AS timestamptz[])) AS u(e, t, a, d, p, o)"""
            ),
            {
                "e": [ev.event_id for ev, _ in rows],
                "t": [ev.type for ev, _ in rows],
                "a": [ev.aggregate_id for ev, _ in rows],
                "d": [dest for _, dest in rows],
                "p": [encoded[id(ev)] for ev, _ in rows],
                "o": [ev.occurred_at or now for ev, _ in rows],
                "now": now,
            },
        )
    return len(rows)


class Relay:
    """Delivers one service's outbox to its consumers. Safe with any number of replicas."""

    def __init__(
        self,
        db: Database,
        schema: str,
        source: str,
        destinations: Mapping[str, str],
        service_token: str,
        *,
        batch_size: int = 200,
        initial_batch_size: int = 50,
        min_batch_size: int = 10,
        target_post_seconds: float = 2.0,
        max_post_bytes: int = 1024 * 1024,
        lease_seconds: float = 30.0,
        max_failures: int = 8,
        timeout: float = 10.0,
        concurrency: int = 1,
        consumer_concurrency: Mapping[str, int] | None = None,
        max_run: int = 16,
        claim_pages: int = 10,
        idle_poll_seconds: float = 0.1,
    ) -> None:
        self.db = db
        self.schema = schema
        self.source = source
        self.destinations = dict(destinations)
        self.token = service_token
        self.batch_size = batch_size
        self.min_batch_size = min(min_batch_size, batch_size)
        self.target_post_seconds = target_post_seconds
        # Per consumer, how many events a claim takes: halved when a round's POSTs take longer than the
        # target (a busy consumer — each event may be a whole case — must answer well inside the HTTP
        # timeout and the lease, or the same events come back again and again), grown back when fast.
        # A new relay starts at `initial_batch_size`: a first round of the whole batch_size against a busy
        # consumer could outlast the HTTP timeout before there is anything to adapt from.
        self.limits: dict[str, int] = {
            name: max(self.min_batch_size, min(initial_batch_size, batch_size)) for name in destinations
        }
        self.max_post_bytes = max_post_bytes
        self.lease = timedelta(seconds=lease_seconds)
        self.max_failures = max_failures
        self.timeout = timeout
        # Rounds in flight per consumer at once: each claims its own rows (SKIP LOCKED under a lease, as another
        # replica's would), so while the consumer applies one batch the next is on its way.
        # (`consumer_concurrency` where a consumer's differs)
        self.concurrency = {name: max(1, (consumer_concurrency or {}).get(name, concurrency)) for name in destinations}
        # An aggregate's events a claim takes at most (its run: the consumer applies them in order), and the
        # pages of undelivered rows a claim reads before it looks for due heads across the whole backlog.
        self.max_run = max(1, max_run)
        # while another consumer's rounds keep a run going, a consumer that found nothing looks again this often
        self.idle_poll_seconds = idle_poll_seconds
        self.claim_pages = max(1, claim_pages)
        self._client: httpx.AsyncClient | None = None

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.timeout, follow_redirects=False)
        return self._client

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def tick(self) -> int:
        """The relay's periodic job: `run_once`, where a consumer that runs dry while another consumer's rounds
        keep the run going looks again every `idle_poll_seconds` (a case's report.status must not wait until
        notify's backlog is through, nor for the next tick)."""
        return await self.run_once(idle_poll_seconds=self.idle_poll_seconds)

    async def run_once(self, max_rounds: int = 50, idle_poll_seconds: float | None = None) -> int:
        """Deliver until nothing is due (or `max_rounds` batches per consumer); returns events delivered. Every
        consumer at once, with up to `concurrency` rounds in flight each; with `idle_poll_seconds`, a consumer
        that runs dry looks again after that long while another consumer is still busy (`tick`)."""

        busy = set(self.destinations)  # consumers whose rounds still find work

        async def destination(name: str, url: str) -> int:
            delivered = 0
            started = 0
            more = True
            refused = False  # the consumer took nothing of a claim: it backs off until the next tick
            flight: set[asyncio.Task[tuple[int, int]]] = set()
            try:
                while True:
                    # a new round whenever one is free while the last round found work: a round that found
                    # nothing (or failed) lets the ones in flight finish, and a full one after it starts again
                    while more and len(flight) < self.concurrency[name] and started < max_rounds:
                        flight.add(asyncio.create_task(self._round(name, url)))
                        started += 1
                    if not flight:
                        busy.discard(name)
                        if not busy or started >= max_rounds or refused or idle_poll_seconds is None:
                            return delivered
                        await asyncio.sleep(idle_poll_seconds)  # another consumer keeps this run going
                        busy.add(name)
                        more = True
                        continue
                    done, flight = await asyncio.wait(flight, return_when=asyncio.FIRST_COMPLETED)
                    for task in done:
                        n, claimed = task.result()  # an outage raises here: the rounds in flight are cancelled
                        delivered += n
                        more = claimed > 0 and n > 0
                        refused = claimed > 0 and n == 0
            finally:
                busy.discard(name)
                for task in flight:
                    task.cancel()
                await asyncio.gather(*flight, return_exceptions=True)

        if len(self.destinations) == 1:
            return await destination(*next(iter(self.destinations.items())))
        try:
            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(destination(name, url)) for name, url in self.destinations.items()]
        except ExceptionGroup as failed:
            raise failed.exceptions[0] from None  # as one consumer alone would (an outage is told as such)
        return sum(t.result() for t in tasks)

    async def _claim(self, destination: str, limit: int | None = None) -> list[Any]:
        """Lease up to `limit` due events: for each aggregate whose oldest undelivered event is due, that
        event and the due ones right behind it (at most `max_run`), in id order.

        The undelivered rows are read in id order a page at a time (the pending index, oldest first), so an
        aggregate's earlier rows are always seen before its later ones: a row that is not due (leased to
        another claimer, backing off, parked) holds its aggregate's later rows back. The consumer applies an
        aggregate's run in order (shared/inbox.py), so a case's events go in one round instead of one round
        each. Up to twice `limit` candidates are read, and the claim leases `limit` of them in id order with
        SKIP LOCKED (a claimer running at the same moment takes its own and this one the next); of each run
        only the prefix it got is kept: a row another claimer took in between breaks the run there, so an
        aggregate is never in two claims at once.
        After `claim_pages` pages of rows held back, one pass over the whole backlog finds the due heads
        instead (heads alone), never starving the other aggregates.
        """
        s = self.schema
        now = clock.now()
        limit = limit or self.batch_size
        page = max(2 * limit, 100)
        async with self.db.unit_of_work() as session:
            # a lease lost in a crash is only given out again; planned afresh: the pending rows grow and shrink
            await relaxed_commit(session, custom_plans=True)
            runs: dict[str, list[int]] = {}
            held: set[str] = set()
            taken = 0
            after = 0
            full = True
            for _ in range(self.claim_pages):
                rows = (
                    await session.execute(
                        text(
                            f"""SELECT id, aggregate_id,
                                  (parked_at IS NULL AND next_attempt_at <= :now
                                   AND (lease_until IS NULL OR lease_until < :now)) AS due
                                FROM {s}.outbox WHERE destination = :dest AND delivered_at IS NULL AND id > :after
                                ORDER BY id LIMIT :n"""
                        ),
                        {"dest": destination, "now": now, "after": after, "n": page},
                    )
                ).all()
                for r in rows:
                    if r.aggregate_id in held:
                        continue
                    if not r.due:
                        held.add(r.aggregate_id)
                        continue
                    run = runs.setdefault(r.aggregate_id, [])
                    run.append(r.id)
                    taken += 1
                    if len(run) >= self.max_run:
                        held.add(r.aggregate_id)
                    if taken >= 2 * limit:
                        break
                full = len(rows) == page
                if taken >= 2 * limit or not full:
                    break
                after = rows[-1].id
            if not runs and full:
                runs = await self._due_heads(session, destination, now, limit)
            if not runs:
                return []
            # the candidates in id order, as many as the claim takes, skipping what another claimer holds
            candidates = [i for run in runs.values() for i in run]
            result = await session.execute(
                text(
                    # within the candidates' id range of the pending index: `id = ANY` alone beside `delivered_at
                    # IS NULL` lets the planner AND in the whole pending index (a cost growing with the backlog),
                    # and a join on unnest may become a scan per candidate when the table's statistics are old
                    f"""WITH c AS (
                          SELECT id FROM {s}.outbox
                          WHERE destination = :dest AND delivered_at IS NULL AND id BETWEEN :lo AND :hi
                            AND id = ANY(:ids) AND parked_at IS NULL AND (lease_until IS NULL OR lease_until < :now)
                          ORDER BY id LIMIT :n FOR UPDATE SKIP LOCKED)
                        UPDATE {s}.outbox o SET lease_until = :lease, attempts = o.attempts + 1 FROM c WHERE o.id = c.id
                        RETURNING o.id, o.event_id, o.type, o.aggregate_id, CAST(o.payload AS text) AS payload_json,
                          o.occurred_at, o.failures"""
                ),
                {
                    "ids": candidates,
                    "lo": min(candidates),
                    "hi": max(candidates),
                    "dest": destination,
                    "now": now,
                    "lease": now + self.lease,
                    "n": limit,
                },
            )
            rows = result.all()
            got = {r.id for r in rows}
            # Of each run only the prefix this claim got may go: a row another claimer took in between (or
            # delivered) breaks the run there, and what this claim got behind it is given back at once.
            behind: list[int] = []
            for run in runs.values():
                broken = False
                for i in run:
                    if i not in got:
                        broken = True
                    elif broken:
                        behind.append(i)
            if behind:
                await session.execute(
                    text(
                        f"""UPDATE {s}.outbox SET lease_until = NULL, attempts = attempts - 1
                            WHERE id = ANY(:ids)"""
                    ),
                    {"ids": behind},
                )
                rows = [r for r in rows if r.id not in set(behind)]
            return sorted(rows, key=lambda r: r.id)

    async def _due_heads(
        self, session: AsyncSession, destination: str, now: datetime, limit: int
    ) -> dict[str, list[int]]:
        """Every page read was held back: the due heads across the whole backlog (one pass over the pending
        index, linear in the backlog), or none at once when no row is due at all."""
        s = self.schema
        due = await session.execute(
            text(
                f"""SELECT 1 FROM {s}.outbox WHERE destination = :dest AND delivered_at IS NULL
                      AND parked_at IS NULL AND next_attempt_at <= :now
                      AND (lease_until IS NULL OR lease_until < :now) LIMIT 1"""
            ),
            {"dest": destination, "now": now},
        )
        if due.first() is None:
            return {}
        heads = await session.execute(
            text(
                f"""SELECT h.id, h.aggregate_id FROM (
                      SELECT DISTINCT ON (aggregate_id) id, aggregate_id, parked_at, next_attempt_at, lease_until
                      FROM {s}.outbox WHERE destination = :dest AND delivered_at IS NULL
                      ORDER BY aggregate_id, id) h
                    WHERE h.parked_at IS NULL AND h.next_attempt_at <= :now
                      AND (h.lease_until IS NULL OR h.lease_until < :now)
                    ORDER BY h.id LIMIT :n"""
            ),
            {"dest": destination, "now": now, "n": limit},
        )
        return {r.aggregate_id: [r.id] for r in heads}

    async def _round(self, destination: str, url: str) -> tuple[int, int]:
        limit = self.limits.get(destination, self.batch_size)
        rows = await self._claim(destination, limit)
        if not rows:
            return 0, 0
        delivered = 0
        started = clock.now()
        held: set[str] = set()  # aggregates with an event this round did not deliver: their later events wait
        waiting: list[Any] = []  # their events in later parts: not sent, due again for the next claim
        for part in self._parts(rows):
            delivered += await self._post(url, part, held, waiting)
        if waiting:
            async with self.db.unit_of_work() as session:
                await self._release(session, [r.id for r in waiting], clock.now())
        self._adapt(destination, limit, len(rows), delivered, (clock.now() - started).total_seconds())
        return delivered, len(rows)

    def _adapt(self, destination: str, limit: int, claimed: int, delivered: int, seconds: float) -> None:
        """AIMD on the claim size: halve when the consumer was slow or failed the round, grow by half
        again when a full round came back well inside the target."""
        if seconds > self.target_post_seconds or (delivered == 0 and claimed > 0):
            new = max(self.min_batch_size, limit // 2)
        elif claimed >= limit and seconds < self.target_post_seconds / 4:
            new = min(self.batch_size, limit + max(1, limit // 2))
        else:
            new = limit
        if new != limit:
            log.info(
                "outbox %s → %s: batch %d → %d (%d events in %.2fs)",
                self.source,
                destination,
                limit,
                new,
                claimed,
                seconds,
            )
        self.limits[destination] = new

    def _parts(self, rows: list[Any]) -> list[list[tuple[Any, bytes]]]:
        """Split a claimed batch into POSTs of at most `max_post_bytes` (an event larger than that goes
        alone), in id order: the parts go one after another, and an aggregate's events in a later part are
        held back when one of its events in an earlier part was not delivered (`_post`)."""
        parts: list[list[tuple[Any, bytes]]] = [[]]
        size = 0
        for r in rows:
            # the payload goes as PostgreSQL wrote it (jsonb's text is JSON): never decoded and encoded again
            head = orjson.dumps(
                {
                    "id": str(r.event_id),
                    "type": r.type,
                    "aggregate_id": r.aggregate_id,
                    "occurred_at": r.occurred_at.isoformat(),
                }
            )
            encoded = head[:-1] + b',"payload":' + r.payload_json.encode() + b"}"
            if parts[-1] and size + len(encoded) + 1 > self.max_post_bytes:
                parts.append([])
                size = 0
            parts[-1].append((r, encoded))
            size += len(encoded) + 1
        return parts

    async def _post(self, url: str, part: list[tuple[Any, bytes]], held: set[str], waiting: list[Any]) -> int:
        """POST one part; a consumer that finds it too large (413) gets it in halves, and a single event
        it refuses as too large counts as that event's failure (parked after `max_failures`). Events of an
        aggregate in `held` are not sent but added to `waiting` (the round releases them for the next claim, in
        order behind the one that was not delivered), and the aggregates of every event this POST does not
        deliver join `held`."""
        waiting += [r for r, _ in part if r.aggregate_id in held]
        part = [(r, e) for r, e in part if r.aggregate_id not in held]
        if not part:
            return 0
        rows = [r for r, _ in part]
        body = b'{"source":' + json.dumps(self.source).encode() + b',"events":[' + b",".join(e for _, e in part) + b"]}"
        try:
            resp = await self._http().post(
                url.rstrip("/") + "/internal/v1/events",
                content=body,
                headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
            )
        except httpx.HTTPError as exc:
            await self._back_off(rows, "transport: " + error_summary(exc, 480))
            held.update(r.aggregate_id for r in rows)
            return 0
        if resp.status_code == 413:
            if len(part) > 1:
                half = len(part) // 2
                return await self._post(url, part[:half], held, waiting) + await self._post(
                    url, part[half:], held, waiting
                )
            error = f"http 413: the consumer refuses this event as too large ({len(body)} bytes)"
            results: Mapping[str, Any] = {str(rows[0].event_id): {"status": "failed", "error": error}}
        elif resp.status_code >= 300:
            await self._back_off(rows, scrub(f"http {resp.status_code}: {resp.text[:300]}"))
            held.update(r.aggregate_id for r in rows)
            return 0
        else:
            results = {r.get("id"): r for r in resp.json().get("results", [])}
        done = await self._settle(rows, results)
        held.update(r.aggregate_id for r in rows if r.id not in done)
        return len(done)

    async def _release(self, session: AsyncSession, ids: list[int], now: datetime) -> None:
        """Claimed events not sent, or deferred by the consumer: due again at once, for the next claim."""
        await session.execute(
            text(f"UPDATE {self.schema}.outbox SET lease_until = NULL, next_attempt_at = :now WHERE id = ANY(:ids)"),
            {"ids": ids, "now": now},
        )

    async def _back_off(self, rows: list[Any], error: str) -> None:
        """The consumer could not be reached or failed as a whole: try again later, never park."""
        now = clock.now()
        async with self.db.unit_of_work() as session:
            await session.execute(
                text(
                    f"""UPDATE {self.schema}.outbox SET lease_until = NULL, last_error = :err,
                        next_attempt_at = CAST(:now AS timestamptz)
                          + make_interval(secs => LEAST(60, 0.5 * power(2, LEAST(attempts, 10)))
                                                  * (0.75 + random() * 0.5))
                        WHERE id = ANY(:ids)"""
                ),
                {"ids": [r.id for r in rows], "err": error, "now": now},
            )
        log.warning("outbox %s delivery failed (%d events): %s", self.source, len(rows), error)

    async def _settle(self, rows: list[Any], results: Mapping[str, Any]) -> set[int]:
        """Record the consumer's answer per event; the row ids it took."""
        now = clock.now()
        done: list[int] = []
        retry_now: list[int] = []
        failed: list[tuple[int, str, bool]] = []
        for r in rows:
            res = results.get(str(r.event_id)) or {"status": "failed", "error": "no result for event"}
            status = res.get("status")
            if status in ("processed", "duplicate"):
                done.append(r.id)
            elif status == "deferred":
                retry_now.append(r.id)
            else:
                park = r.failures + 1 >= self.max_failures
                # what the consumer says is stored scrubbed: no SQL parameter, ID number or phone in last_error
                failed.append((r.id, scrub(str(res.get("error", "failed")))[:500], park))
        async with self.db.unit_of_work() as session:
            # a delivery mark lost in a crash sends the event again: the consumer's inbox answers "duplicate"
            await relaxed_commit(session)
            s = self.schema
            if done:
                await session.execute(
                    text(
                        f"""UPDATE {s}.outbox SET delivered_at = :now, lease_until = NULL, last_error = NULL
                            WHERE id = ANY(:ids)"""
                    ),
                    {"ids": done, "now": now},
                )
            if retry_now:
                await self._release(session, retry_now, now)
            for row_id, error, park in failed:
                delay = timedelta(seconds=min(300, 2 ** random.uniform(1, 6)))
                await session.execute(
                    text(
                        f"""UPDATE {s}.outbox SET lease_until = NULL, failures = failures + 1, last_error = :err,
                            next_attempt_at = :next, parked_at = CASE WHEN :park THEN CAST(:now AS timestamptz) END
                            WHERE id = :id"""
                    ),
                    {"id": row_id, "err": error, "next": now + delay, "park": park, "now": now},
                )
                if park:
                    log.error("outbox %s parked event row %s: %s", self.source, row_id, error)
        return set(done)

    async def backlog(self) -> list[Any]:
        """(destination, pending, parked, age in seconds of the oldest pending event) for /metrics; one
        pass over the undelivered rows (the pending index)."""
        async with self.db.unit_of_work() as session:
            result = await session.execute(
                text(
                    f"""SELECT destination, count(*) FILTER (WHERE parked_at IS NULL) AS pending,
                               count(*) FILTER (WHERE parked_at IS NOT NULL) AS parked,
                               min(occurred_at) FILTER (WHERE parked_at IS NULL) AS oldest
                        FROM {self.schema}.outbox WHERE delivered_at IS NULL GROUP BY destination"""
                )
            )
            now = clock.now()
            found = {
                r.destination: (
                    r.destination,
                    r.pending,
                    r.parked,
                    max(0.0, (now - r.oldest).total_seconds()) if r.oldest is not None else 0.0,
                )
                for r in result
            }
        # every destination the relay knows, also when nothing waits for it
        return [found.get(name, (name, 0, 0, 0.0)) for name in self.destinations] + [
            row for name, row in found.items() if name not in self.destinations
        ]

    async def prune(self, keep: timedelta = timedelta(days=3)) -> int:
        """Delivered rows are history; keep a few days for operators, then delete."""
        async with self.db.unit_of_work() as session:
            result = cast(
                "CursorResult[Any]",
                await session.execute(
                    text(f"DELETE FROM {self.schema}.outbox WHERE delivered_at < :cut AND skipped_at IS NULL"),
                    {"cut": clock.now() - keep},
                ),
            )
            return result.rowcount or 0
