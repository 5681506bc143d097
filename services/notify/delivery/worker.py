"""The delivery worker's pipeline (see jobs.py for what it guarantees).

One `DeliveryRun` claims due rows in chunks (FOR UPDATE SKIP LOCKED, a lease, commit), prepares them
(the department's endpoint and signing keys; for SMS quiet hours and the daily cap), sends them with
at most `delivery_concurrency` requests in flight — a finished send starts the next one at once, from
a done-callback, so a slot never waits for the loop or the database — and a settler task writes the
outcomes in batches meanwhile. Claiming, sending and settling overlap.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import math
import random
import time
from collections import deque
from dataclasses import dataclass
from datetime import timedelta

from services.notify.config import NotifySettings
from services.notify.delivery import repository as repo
from services.notify.delivery.clients import DeliveryClients, TransportError
from services.notify.delivery.outcomes import Claimed, Outcome, as_dict, body_of, settle
from services.notify.delivery.policy import parse_schedule
from services.notify.delivery.sms import GatewaySmsProvider, LoggingSmsProvider, SmsProvider, china_day, quiet_until
from services.notify.delivery.webhooks import UnsafeTarget, static_refusal, webhook_headers
from services.notify.directory import service as directory
from services.notify.endpoint import service as endpoint_service
from shared.clock import clock
from shared.db import Database, relaxed_commit
from shared.errors import is_database_unavailable
from shared.pii import PiiCipher

log = logging.getLogger("notify.delivery")

LEASE_MIN_SECONDS = 30.0
FLUSH_EVERY_SECONDS = 0.05
FLUSH_AT = 200
RECHECK_SECONDS = 0.1
ENDPOINT_TTL_SECONDS = 5.0


@dataclass(eq=False)
class _Endpoint:
    """A department endpoint as the worker uses it (cached a few seconds per run)."""

    code: str
    url: str
    state: str
    reason: str | None
    keys: list[bytes]
    refusal: str | None
    loaded_at: float
    retired: bool = False  # the directory has retired (撤销) the department: its webhooks are skipped


@dataclass
class _Job:
    row: Claimed
    endpoint: _Endpoint | None = None
    phone: str | None = None
    text: str | None = None
    sms_key: tuple[str, str] | None = None


class DeliveryRun:
    """One run of the worker (what `deliver_due` does): claim, send, settle, until nothing is due."""

    def __init__(
        self,
        db: Database,
        settings: NotifySettings,
        cipher: PiiCipher,
        clients: DeliveryClients,
        max_seconds: float | None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.cipher = cipher
        self.clients = clients
        self.schedule = parse_schedule(settings.webhook_retry_schedule)
        self.timeout = float(settings.webhook_timeout_seconds)
        self.concurrency = max(1, int(settings.delivery_concurrency))
        self.batch = max(1, int(settings.delivery_batch))
        # in flight plus claimed and waiting for a slot: claims come in chunks of batch/4..batch, so a
        # claim (a transaction) is paid for by many deliveries
        self.capacity = self.concurrency + self.batch
        # one department's system gets at most this many requests at once, so that a slow or down one
        # cannot take every slot; it holds at most `rounds` times that many claimed rows (the time a
        # lease covers), the rest wait in the table unclaimed and the others keep flowing
        self.per_endpoint = max(1, int(getattr(settings, "delivery_per_endpoint", self.concurrency)))
        rounds = math.ceil(self.capacity / self.concurrency)
        self.per_endpoint_held = self.per_endpoint * rounds
        self.busy: dict[str, int] = {}  # in flight per department
        self.held: dict[str, int] = {}  # in flight or queued per department
        self.claim_min = max(1, self.batch // 4)
        # a claimed row may wait for capacity/concurrency rounds of slow sends before its own
        self.lease_seconds = LEASE_MIN_SECONDS + self.timeout * math.ceil(self.capacity / self.concurrency)
        self.deadline = None if max_seconds is None else time.monotonic() + max_seconds
        self._sms: SmsProvider | None = None
        self.endpoints: dict[str, _Endpoint] = {}
        self.queue: deque[_Job] = deque()
        self.in_flight: set[asyncio.Future[Outcome]] = set()
        self.results: list[Outcome] = []
        self.settled = 0
        self._slot_freed = asyncio.Event()
        self._results_ready = asyncio.Event()
        self._flush_now = asyncio.Event()  # FLUSH_AT results wait, or the run is closing
        self._closing = False
        self._failure: BaseException | None = None

    # ---- the pipeline -----------------------------------------------------------------------------
    # The loop below claims and prepares; a finished send starts the next one from the queue at once
    # (a done-callback, so a slot never waits for the loop or the database); the settler task writes
    # results in batches meanwhile. Claiming, sending and settling overlap.

    async def run(self) -> int:
        settler = asyncio.create_task(self._settler())
        try:
            try:
                await self._feed()
            except Exception:
                if self.in_flight:  # claiming failed (the database went away): let the sends end and settle
                    await asyncio.wait(set(self.in_flight))
                raise
        finally:
            self._closing = True  # no new sends from here on
            self._flush_now.set()
            for fut in list(self.in_flight):
                fut.cancel()  # only when failing or cancelled: those rows stay leased and are retried later
            self._results_ready.set()
            await settler
        if self._failure is not None:
            raise self._failure
        return self.settled

    async def _feed(self) -> None:
        drained, drained_at = False, 0.0
        while self._failure is None:
            if self.clients.closing:  # the process is stopping: claim nothing more, give back what waits
                await self._wind_down()
                return
            now_m = time.monotonic()
            budget_left = self.deadline is None or now_m < self.deadline
            idle = not self.in_flight and not self.queue
            if idle and not budget_left:
                return
            room = self.capacity - len(self.in_flight) - len(self.queue)
            want = (
                budget_left
                and room > 0
                and (
                    idle
                    or (not drained and room >= self.claim_min)
                    or (drained and now_m - drained_at >= RECHECK_SECONDS)
                )
            )
            if want:
                asked = min(room, self.batch)
                rows = await self._claim(asked)
                drained, drained_at = len(rows) < asked, now_m
                if rows:
                    await self._prepare(rows)
                    self._start_sends()
                    continue
                if idle:
                    return
            self._slot_freed.clear()
            if self.in_flight:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._slot_freed.wait(), RECHECK_SECONDS)

    async def _wind_down(self) -> None:
        """Shutdown: rows claimed but not sent go back at once (no attempt counted); sends in flight
        end (the clients wait for them a bounded time) and settle."""
        for job in self.queue:
            self._result(Outcome(job.row, "release", attempted=0))
            self._forget(job)
        self.queue.clear()
        if self.in_flight:
            await asyncio.wait(set(self.in_flight))

    @staticmethod
    def _endpoint_key(job: _Job) -> str | None:
        return job.row.target if job.row.channel == "webhook" else None

    def _forget(self, job: _Job) -> None:
        key = self._endpoint_key(job)
        if key is not None:
            self.held[key] -= 1

    def _start_sends(self) -> None:
        waiting: list[_Job] = []  # their department has per_endpoint requests in flight already
        while not self._closing and not self.clients.closing and self.queue and len(self.in_flight) < self.concurrency:
            job = self.queue.popleft()
            key = self._endpoint_key(job)
            if key is not None:
                if self.busy.get(key, 0) >= self.per_endpoint:
                    waiting.append(job)
                    continue
                self.busy[key] = self.busy.get(key, 0) + 1
            coro = self._send_webhook(job) if job.row.channel == "webhook" else self._send_sms(job)
            fut = asyncio.ensure_future(coro)
            self.in_flight.add(fut)
            fut.add_done_callback(functools.partial(self._sent, job))
        self.queue.extendleft(reversed(waiting))

    def _sent(self, job: _Job, fut: asyncio.Future[Outcome]) -> None:
        self.in_flight.discard(fut)
        key = self._endpoint_key(job)
        if key is not None:
            self.busy[key] -= 1
        self._forget(job)
        if not fut.cancelled():
            self._result(fut.result())
        self._start_sends()
        self._slot_freed.set()

    def _result(self, outcome: Outcome) -> None:
        self.results.append(outcome)
        self._results_ready.set()
        if len(self.results) >= FLUSH_AT:
            self._flush_now.set()

    async def _settler(self) -> None:
        """Write results every FLUSH_EVERY_SECONDS (or FLUSH_AT of them), until closing and empty."""
        while True:
            await self._results_ready.wait()
            if not self._closing and len(self.results) < FLUSH_AT:
                # gather results for a while: one settling transaction pays for many of them
                self._flush_now.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._flush_now.wait(), FLUSH_EVERY_SECONDS)
            self._results_ready.clear()
            try:
                await self._flush()
            except Exception as exc:  # the rows stay leased and are retried when the lease runs out
                self._failure = exc
                self._slot_freed.set()
                return
            if self._closing and not self.results:
                return

    # ---- claim and prepare ------------------------------------------------------------------------

    async def _claim(self, n: int) -> list[Claimed]:
        now = clock.now()
        # a few random microseconds make the lease value this claim's own (settling matches it)
        lease = now + timedelta(seconds=self.lease_seconds, microseconds=random.randrange(1_000_000))
        async with self.db.unit_of_work() as session:
            await relaxed_commit(session)
            full = [code for code, n_held in self.held.items() if n_held >= self.per_endpoint_held]
            rows = await repo.claim_due(session, now, lease, n, skip_departments=full)
        return [
            Claimed(r.id, r.channel, r.target, r.message_id, r.payload, r.attempts, r.lease_until, r.event_at)
            for r in rows
        ]

    async def _prepare(self, rows: list[Claimed]) -> None:
        webhooks = [r for r in rows if r.channel == "webhook"]
        sms = [r for r in rows if r.channel == "sms"]
        if webhooks:
            await self._load_endpoints({r.target for r in webhooks if r.target})
            for row in webhooks:
                self._prepare_webhook(row)
        if sms:
            await self._prepare_sms(sms)

    async def _load_endpoints(self, codes: set[str]) -> None:
        stale = time.monotonic() - ENDPOINT_TTL_SECONDS
        missing = [c for c in codes if c not in self.endpoints or self.endpoints[c].loaded_at < stale]
        if not missing:
            return
        now = clock.now()
        async with self.db.unit_of_work() as session:
            found = await endpoint_service.endpoints_of(session, missing)
            retired = await directory.retired_codes(session, missing)
        loaded_at = time.monotonic()
        for code in missing:
            self.endpoints.pop(code, None)
        allow_private = bool(self.settings.webhook_allow_private_targets)
        for ep in found:
            self.endpoints[ep.department_code] = _Endpoint(
                code=ep.department_code,
                url=ep.url,
                state=ep.state,
                reason=ep.disabled_reason,
                keys=endpoint_service.signing_keys(ep.secrets, self.cipher, now),
                refusal=static_refusal(ep.url, allow_private),
                loaded_at=loaded_at,
                retired=ep.department_code in retired,
            )

    def _prepare_webhook(self, row: Claimed) -> None:
        ep = self.endpoints.get(row.target or "")
        refusal = self._endpoint_refusal(row, ep)
        key = row.target or ""
        if ep is not None and ep.retired:  # not an outage: nothing will ever take it
            self._result(Outcome(row, "skipped", error=directory.RETIRED, attempted=0))
        elif refusal:
            self._result(Outcome(row, "failed", error=refusal))
        elif self.held.get(key, 0) >= self.per_endpoint_held:
            # this department has its share claimed already: the row goes back to the table at once (no
            # attempt counted, its place in line kept) and the claims skip the department until it has room
            self._result(Outcome(row, "release", attempted=0))
        else:
            self.held[key] = self.held.get(key, 0) + 1
            self.queue.append(_Job(row, endpoint=ep))

    @staticmethod
    def _endpoint_refusal(row: Claimed, ep: _Endpoint | None) -> str | None:
        if ep is None:
            return f"no webhook endpoint is configured for department {row.target}"
        if ep.state != "active":
            return f"the webhook endpoint of {ep.code} is disabled: {ep.reason or 'no reason given'}"
        if ep.refusal:
            return f"refused target: {ep.refusal}"
        if not ep.keys:
            return f"the webhook endpoint of {ep.code} has no valid signing secret"
        return None

    async def _prepare_sms(self, rows: list[Claimed]) -> None:
        now = clock.now()
        cap = int(self.settings.sms_daily_cap)
        day = china_day(now)
        to_reserve: list[_Job] = []
        for row in rows:
            payload = as_dict(row.payload)
            text_, major = payload.get("text"), bool(payload.get("major"))
            try:
                phone = self.cipher.decrypt(row.target)
            except Exception:  # a key no longer held or a damaged value: nothing to retry
                phone = None
            if not phone or not isinstance(text_, str) or not text_:
                self._result(Outcome(row, "dead", error="the SMS has no readable phone or no text", attempted=0))
                continue
            until = None if major else quiet_until(now, self.settings.sms_quiet_hours)
            if until is not None:
                self._result(Outcome(row, "defer", until=until, attempted=0))
                continue
            job = _Job(row, phone=phone, text=text_)
            if major:  # a major case's 十分钟报告 is never held back by the cap, nor counted against it
                self.queue.append(job)
            else:
                to_reserve.append(job)
        if not to_reserve:
            return
        if cap <= 0:
            self.queue.extend(to_reserve)
            return
        async with self.db.unit_of_work() as session:
            for job in to_reserve:
                key = (self.cipher.lookup_hash("phone", job.phone) or "", day)
                if await repo.reserve_sms(session, key[0], day, cap):
                    job.sms_key = key
                    self.queue.append(job)
                else:  # not an outage: the message is not sent, and says why
                    self._result(
                        Outcome(
                            job.row,
                            "skipped",
                            attempted=0,
                            error=f"已达每日短信上限：该号码 {day}（北京时间）已收到 {cap} 条短信，本条未发送",
                        )
                    )

    # ---- sending ----------------------------------------------------------------------------------

    async def _send_webhook(self, job: _Job) -> Outcome:
        row, ep = job.row, job.endpoint
        assert ep is not None
        if ep.state != "active":  # disabled by a 410 while this one waited for a slot
            return Outcome(row, "failed", error=self._endpoint_refusal(row, ep))
        try:
            body = body_of(row.payload)
            headers = webhook_headers(row.message_id, int(clock.now().timestamp()), body, ep.keys)
            status, snippet, location = await self.clients.post_webhook(ep.url, body, headers)
        except Exception as exc:
            if self.clients.closing:  # cut short by shutdown: not an attempt, the row goes back
                return Outcome(row, "release", attempted=0)
            return self._webhook_failure(row, exc)
        if 200 <= status < 300:
            return Outcome(row, "delivered", status=status)
        if status == 410:
            reason = f"answered 410 Gone to webhook {row.message_id} at {clock.now().isoformat()}"
            ep.state, ep.reason = "disabled", reason
            return Outcome(
                row, "gone", status=status, error=f"410 Gone: endpoint of {ep.code} disabled", disable_reason=reason
            )
        if 300 <= status < 400:
            return Outcome(row, "failed", status=status, error=f"redirect not followed: {status} to {location[:200]!r}")
        return Outcome(row, "failed", status=status, error=f"HTTP {status}: {snippet}"[:500])

    def _webhook_failure(self, row: Claimed, exc: Exception) -> Outcome:
        if isinstance(exc, TimeoutError):
            return Outcome(row, "failed", error=f"timeout: no complete answer within {self.timeout:g} s")
        if isinstance(exc, UnsafeTarget):
            return Outcome(row, "failed", error=f"refused target: {exc}")
        if isinstance(exc, TransportError):
            return Outcome(row, "failed", error=str(exc)[:500])
        # never lose the row to a bug: it is retried per schedule
        log.error("webhook %s: unexpected error", row.message_id, exc_info=exc)
        return Outcome(row, "failed", error=f"internal error: {type(exc).__name__}")

    @property
    def sms(self) -> SmsProvider:
        if self._sms is None:
            url = self.settings.sms_gateway_url
            self._sms = GatewaySmsProvider(url, self.clients.sms) if url else LoggingSmsProvider()
        return self._sms

    async def _send_sms(self, job: _Job) -> Outcome:
        row = job.row
        try:
            async with asyncio.timeout(self.timeout):
                result = await self.sms.send(job.phone or "", job.text or "")
        except Exception as exc:
            if self.clients.closing:  # cut short by shutdown: not an attempt, the row goes back
                return Outcome(row, "release", attempted=0, sms_key=job.sms_key)
            if isinstance(exc, TimeoutError):
                return Outcome(row, "failed", error="sms gateway: timeout", sms_key=job.sms_key)
            log.error("sms %s: unexpected error", row.id, exc_info=exc)
            return Outcome(row, "failed", error=f"internal error: {type(exc).__name__}", sms_key=job.sms_key)
        if result.ok:
            return Outcome(row, "delivered", status=result.status)
        return Outcome(row, "failed", status=result.status, error=result.error or "sms not sent", sms_key=job.sms_key)

    # ---- settling ---------------------------------------------------------------------------------

    async def _flush(self) -> None:
        if not self.results:
            return
        outcomes, self.results = self.results, []
        for attempt in range(3):
            try:
                await settle(self.db, outcomes, self.schedule)
                break
            except Exception as exc:
                if attempt == 2 or not is_database_unavailable(exc):
                    raise  # the rows stay leased and are retried when the lease runs out
                await asyncio.sleep(0.5 * (attempt + 1))
        self.settled += len(outcomes)
