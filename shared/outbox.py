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
from shared.db import Database, error_summary
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
        self.concurrency = max(1, concurrency)
        self._client: httpx.AsyncClient | None = None

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.timeout, follow_redirects=False)
        return self._client

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def run_once(self, max_rounds: int = 50) -> int:
        """Deliver until nothing is due (or `max_rounds` batches a lane); returns events delivered. Every
        consumer at once, `concurrency` lanes each."""

        async def lane(name: str, url: str) -> int:
            delivered = 0
            for _ in range(max_rounds):
                n, claimed = await self._round(name, url)
                delivered += n
                if claimed == 0 or n == 0:
                    break
            return delivered

        lanes = [(name, url) for name, url in self.destinations.items() for _ in range(self.concurrency)]
        if len(lanes) == 1:
            return await lane(*lanes[0])
        try:
            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(lane(name, url)) for name, url in lanes]
        except ExceptionGroup as failed:
            raise failed.exceptions[0] from None  # as one lane alone would (an outage is told as such)
        return sum(t.result() for t in tasks)

    async def _claim(self, destination: str, limit: int | None = None) -> list[Any]:
        """Lease up to `batch_size` due events that are each the oldest undelivered one of their aggregate.

        Set-based in three index-backed steps (due rows in id order; the head id of each of their
        aggregates; lock the heads with SKIP LOCKED), so a claim costs the same whatever the backlog.
        """
        s = self.schema
        now = clock.now()
        limit = limit or self.batch_size
        async with self.db.unit_of_work() as session:
            due = (
                await session.execute(
                    text(
                        f"""SELECT id, aggregate_id FROM {s}.outbox
                            WHERE destination = :dest AND delivered_at IS NULL AND parked_at IS NULL
                              AND next_attempt_at <= :now AND (lease_until IS NULL OR lease_until < :now)
                            ORDER BY id LIMIT :n"""
                    ),
                    {
                        "dest": destination,
                        "now": now,
                        "n": self.batch_size * 2,
                    },  # the window stays wide: many heads to choose from
                )
            ).all()
            if not due:
                return []
            heads = {
                r.aggregate_id: r.head
                for r in await session.execute(
                    text(
                        f"""SELECT aggregate_id, min(id) AS head FROM {s}.outbox
                            WHERE destination = :dest AND delivered_at IS NULL AND aggregate_id = ANY(:aggs)
                            GROUP BY aggregate_id"""
                    ),
                    {"dest": destination, "aggs": list({r.aggregate_id for r in due})},
                )
            }
            # every head of the window: another claimer may hold some of them right now (skipped below)
            keep = [r.id for r in due if heads.get(r.aggregate_id) == r.id]
            if not keep:
                # Every due row in the window waits behind an older event of its aggregate (one backing
                # off, parked, or leased). Find the due heads across the whole backlog instead: one pass
                # over the pending index, linear in the backlog, never starving the other aggregates.
                keep = [
                    r.id
                    for r in await session.execute(
                        text(
                            f"""SELECT h.id FROM (
                                  SELECT DISTINCT ON (aggregate_id) id, parked_at, next_attempt_at, lease_until
                                  FROM {s}.outbox WHERE destination = :dest AND delivered_at IS NULL
                                  ORDER BY aggregate_id, id) h
                                WHERE h.parked_at IS NULL AND h.next_attempt_at <= :now
                                  AND (h.lease_until IS NULL OR h.lease_until < :now)
                                ORDER BY h.id LIMIT :n"""
                        ),
                        {"dest": destination, "now": now, "n": limit},
                    )
                ]
                if not keep:
                    return []
            result = await session.execute(
                text(
                    f"""WITH c AS (
                          SELECT id FROM {s}.outbox WHERE id = ANY(:ids) AND delivered_at IS NULL
                            AND (lease_until IS NULL OR lease_until < :now)
                          ORDER BY id LIMIT :n FOR UPDATE SKIP LOCKED)
                        UPDATE {s}.outbox o SET lease_until = :lease, attempts = o.attempts + 1
                        FROM c WHERE o.id = c.id
                        RETURNING o.id, o.event_id, o.type, o.aggregate_id, CAST(o.payload AS text) AS payload_json,
                          o.occurred_at, o.failures"""
                ),
                {"ids": keep, "now": now, "lease": now + self.lease, "n": limit},
            )
            return sorted(result.all(), key=lambda r: r.id)

    async def _round(self, destination: str, url: str) -> tuple[int, int]:
        limit = self.limits.get(destination, self.batch_size)
        rows = await self._claim(destination, limit)
        if not rows:
            return 0, 0
        delivered = 0
        started = clock.now()
        for part in self._parts(rows):
            delivered += await self._post(url, part)
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
        alone). A claim holds at most one event per aggregate, so the parts need no ordering."""
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

    async def _post(self, url: str, part: list[tuple[Any, bytes]]) -> int:
        """POST one part; a consumer that finds it too large (413) gets it in halves, and a single event
        it refuses as too large counts as that event's failure (parked after `max_failures`)."""
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
            return 0
        if resp.status_code == 413:
            if len(part) > 1:
                half = len(part) // 2
                return await self._post(url, part[:half]) + await self._post(url, part[half:])
            error = f"http 413: the consumer refuses this event as too large ({len(body)} bytes)"
            return await self._settle(rows, {str(rows[0].event_id): {"status": "failed", "error": error}})
        if resp.status_code >= 300:
            await self._back_off(rows, scrub(f"http {resp.status_code}: {resp.text[:300]}"))
            return 0
        results = {r.get("id"): r for r in resp.json().get("results", [])}
        return await self._settle(rows, results)

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

    async def _settle(self, rows: list[Any], results: Mapping[str, Any]) -> int:
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
                await session.execute(
                    text(f"UPDATE {s}.outbox SET lease_until = NULL, next_attempt_at = :now WHERE id = ANY(:ids)"),
                    {"ids": retry_now, "now": now},
                )
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
        return len(done)

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
