"""The outbox relay: a consumer that is down loses nothing; a poison event is parked and visible."""

from __future__ import annotations

import asyncio
import json
import uuid

from sqlalchemy import text

from services.intake.context import IntakeContext
from services.intake.db import outbox as intake_outbox
from shared.clock import ManualClock, clock
from shared.context import context_of
from shared.outbox import Event, Relay, publish
from tests.intake.factories import report
from tests.support import Served, free_port, hold_back_outbox_head, settle_outbox


async def test_relay_survives_consumer_down_and_delivers_everything_when_back(system):
    items = [report() for _ in range(5)]
    hdrs = await system.auth("w001", "dev-w001")
    # intake has the signing keys once it has verified a token; then it works while cases is away
    assert (await system.http.get(f"{system.intake_url}/v1/sync/pull", headers=hdrs)).status_code == 200
    await system.stop_service("cases")
    try:
        resp = await system.http.post(
            f"{system.intake_url}/v1/sync/push", json={"device_id": "dev-w001", "items": items}, headers=hdrs
        )
        assert resp.status_code == 200
        relay = context_of(system.intake_app, IntakeContext).relay
        assert await relay.run_once() == 0
        async with system.intake_app.state.db.unit_of_work() as s:
            rows = (
                await s.execute(
                    text("SELECT attempts, last_error, delivered_at FROM intake.outbox WHERE aggregate_id = ANY(:a)"),
                    {"a": [i["id"] for i in items]},
                )
            ).all()
        assert len(rows) == 5 and all(r.attempts >= 1 and r.last_error and r.delivered_at is None for r in rows)
    finally:
        await system.start_service("cases")
    # Back-off holds the rows for a moment; move the clock past it instead of waiting.
    manual = ManualClock()
    clock.use(manual)
    try:
        manual.advance(minutes=2)
        await system.drain()
    finally:
        clock.reset()
    async with system.cases_app.state.db.unit_of_work() as s:
        n = (
            await s.execute(
                text("SELECT count(*) FROM cases.case_reports WHERE CAST(report_id AS text) = ANY(:a)"),
                {"a": [i["id"] for i in items]},
            )
        ).scalar()
    assert n == 5


async def test_poison_event_is_parked_and_visible_and_does_not_block_others(system):
    db = system.intake_app.state.db
    poison_agg = f"poison-{uuid.uuid4()}"
    async with db.unit_of_work() as s:
        await publish(
            s,
            intake_outbox,
            [Event(type="no.such.event", aggregate_id=poison_agg, payload={}, destinations=("cases",))],
        )
    good = report()
    await system.http.post(
        f"{system.intake_url}/v1/sync/push",
        json={"device_id": "dev-w001", "items": [good]},
        headers=await system.auth("w001", "dev-w001"),
    )
    manual = ManualClock()
    clock.use(manual)
    try:
        for _ in range(10):
            await system.drain()
            manual.advance(minutes=10)
    finally:
        clock.reset()
    listing = await system.http.get(
        f"{system.intake_url}/internal/v1/outbox",
        params={"status": "parked"},
        headers={"Authorization": "Bearer test-intake-token"},
    )
    assert listing.status_code == 200
    parked = [r for r in listing.json()["items"] if r["aggregate_id"] == poison_agg]
    assert len(parked) == 1 and "unknown event type" in parked[0]["last_error"]
    async with system.cases_app.state.db.unit_of_work() as s:
        assert (
            await s.execute(
                text("SELECT count(*) FROM cases.case_reports WHERE report_id = :r"), {"r": uuid.UUID(good["id"])}
            )
        ).scalar() == 1
    replay = await system.http.post(
        f"{system.intake_url}/internal/v1/outbox/{parked[0]['id']}/replay",
        headers={"Authorization": "Bearer test-intake-token"},
    )
    assert replay.status_code == 200 and replay.json()["parked_at"] is None
    # Put it back so other tests are not disturbed.
    await settle_outbox(db, "intake", aggregate_id=poison_agg)


async def test_internal_endpoints_need_the_service_credential(system):
    for url in (f"{system.intake_url}/internal/v1/events", f"{system.cases_url}/internal/v1/events"):
        resp = await system.http.post(
            url, json={"source": "x", "events": []}, headers={"Authorization": "Bearer wrong"}
        )
        assert resp.status_code == 401
    user = await system.auth("admin")
    assert (await system.http.get(f"{system.intake_url}/internal/v1/outbox", headers=user)).status_code == 401


async def test_metrics_show_the_outbox_backlog(system):
    body = (await system.http.get(f"{system.intake_url}/metrics")).text
    assert "http_requests_total" in body
    assert "outbox_parked_events" in body or "outbox_pending_events" in body


async def test_a_blocked_aggregate_with_many_events_does_not_starve_the_others(system):
    """Hundreds of events wait behind one backing-off event of their aggregate; others still flow."""

    db = system.intake_app.state.db
    relay = context_of(system.intake_app, IntakeContext).relay
    blocked = f"blocked-{uuid.uuid4()}"
    async with db.unit_of_work() as s:
        await publish(
            s,
            intake_outbox,
            [
                Event(type="no.such.event", aggregate_id=blocked, payload={"i": i}, destinations=("cases",))
                for i in range(relay.batch_size * 3)
            ],
        )
    await hold_back_outbox_head(db, "intake", blocked)
    good = report()
    resp = await system.http.post(
        f"{system.intake_url}/v1/sync/push",
        json={"device_id": "dev-w001", "items": [good]},
        headers=await system.auth("w001", "dev-w001"),
    )
    assert resp.status_code == 200
    await system.drain()
    async with system.cases_app.state.db.unit_of_work() as s:
        assert (
            await s.execute(
                text("SELECT count(*) FROM cases.case_reports WHERE report_id = :r"), {"r": uuid.UUID(good["id"])}
            )
        ).scalar() == 1
    async with db.unit_of_work() as s:
        left = (
            await s.execute(
                text("SELECT count(*) FROM intake.outbox WHERE aggregate_id = :a AND delivered_at IS NULL"),
                {"a": blocked},
            )
        ).scalar()
        assert left == relay.batch_size * 3  # still in order behind their head, none skipped ahead
    await settle_outbox(db, "intake", aggregate_id=blocked)


async def _read_body(receive) -> bytes:
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            return body


class _Consumer:
    """A consumer of /internal/v1/events on a real HTTP server: answers 413 above `limit` bytes, else takes
    every event but `poison` ones (and defers what follows them in their aggregate); records the size of
    every POST and the ids it took."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.sizes: list[int] = []
        self.taken: list[str] = []
        self.posts: list[list[str]] = []  # the event ids of each POST it took apart

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return
        body = await _read_body(receive)
        self.sizes.append(len(body))
        if len(body) > self.limit:
            status, answer = 413, b'{"status":413}'
        else:
            # as shared.inbox answers: an event after a failed one of its aggregate in the same POST is deferred
            results = []
            failed: set[str] = set()
            events = json.loads(body)["events"]
            self.posts.append([e["id"] for e in events])
            for e in events:
                if e["aggregate_id"] in failed:
                    results.append({"id": e["id"], "status": "deferred"})
                elif e["type"] == "poison":
                    failed.add(e["aggregate_id"])
                    results.append({"id": e["id"], "status": "failed", "error": "poison"})
                else:
                    self.taken.append(e["id"])
                    results.append({"id": e["id"], "status": "processed"})
            status, answer = 200, json.dumps({"results": results}).encode()
        await send(
            {"type": "http.response.start", "status": status, "headers": [(b"content-type", b"application/json")]}
        )
        await send({"type": "http.response.body", "body": answer})


async def _big_events(db, destination: str, n: int, size: int) -> list[str]:
    events = [
        Event(
            type="report.submitted",
            aggregate_id=f"big-{uuid.uuid4()}",
            payload={"description": "纠纷" * (size // 6)},
            destinations=(destination,),
        )
        for _ in range(n)
    ]
    async with db.unit_of_work() as s:
        await publish(s, intake_outbox, events)
    return [str(e.event_id) for e in events]


async def _relay_to(system, consumer: _Consumer, destination: str, **kw):
    served = Served(destination, lambda: consumer, free_port())
    await served.start()
    relay = Relay(
        system.intake_app.state.db, "intake", "intake", {destination: f"http://127.0.0.1:{served.port}"}, "t", **kw
    )
    return served, relay


async def test_a_batch_of_large_events_is_split_into_posts_the_consumer_accepts(system):
    """~200 maximal reports exceed the consumer's body limit in one POST; the relay sends them in parts."""
    destination = f"big-{uuid.uuid4().hex[:8]}"
    consumer = _Consumer(limit=5 * 1024 * 1024)
    served, relay = await _relay_to(system, consumer, destination)
    try:
        ids = await _big_events(system.intake_app.state.db, destination, 60, 100_000)  # ~6 MB in all
        assert await relay.run_once() == 60
    finally:
        await relay.close()
        await served.stop()
    assert sorted(consumer.taken) == sorted(ids)
    assert len(consumer.sizes) > 1 and max(consumer.sizes) <= relay.max_post_bytes


async def test_a_consumer_answering_413_gets_the_batch_in_halves_until_it_fits(system):
    destination = f"small-{uuid.uuid4().hex[:8]}"
    consumer = _Consumer(limit=250_000)
    served, relay = await _relay_to(system, consumer, destination, max_post_bytes=8 * 1024 * 1024)
    try:
        ids = await _big_events(system.intake_app.state.db, destination, 16, 100_000)
        assert await relay.run_once() == 16
    finally:
        await relay.close()
        await served.stop()
    assert sorted(consumer.taken) == sorted(ids)
    assert consumer.sizes[0] > consumer.limit  # the first try was refused, then halves went through


async def test_a_single_event_the_consumer_finds_too_large_counts_as_its_failure(system):
    destination = f"tiny-{uuid.uuid4().hex[:8]}"
    consumer = _Consumer(limit=10_000)
    served, relay = await _relay_to(system, consumer, destination)
    try:
        [event_id] = await _big_events(system.intake_app.state.db, destination, 1, 50_000)
        assert await relay.run_once() == 0
    finally:
        await relay.close()
        await served.stop()
    async with system.intake_app.state.db.unit_of_work() as s:
        row = (
            await s.execute(
                text("SELECT failures, last_error, delivered_at FROM intake.outbox WHERE event_id = :e"),
                {"e": uuid.UUID(event_id)},
            )
        ).one()
        assert row.failures == 1 and "413" in row.last_error and row.delivered_at is None
    await settle_outbox(system.intake_app.state.db, "intake", event_id=uuid.UUID(event_id))


async def test_internal_events_endpoint_takes_batches_larger_than_the_public_body_limit(system):
    big = "纠纷" * 1_000_000  # ~6 MB of JSON, above the 5 MiB limit of public routes
    body = {
        "source": "intake",
        "events": [
            {
                "id": str(uuid.uuid4()),
                "type": "no.such.event",
                "aggregate_id": f"x-{uuid.uuid4()}",
                "occurred_at": "2026-01-01T00:00:00+00:00",
                "payload": {"text": big},
            }
        ],
    }
    resp = await system.http.post(
        f"{system.cases_url}/internal/v1/events", json=body, headers={"Authorization": "Bearer test-intake-token"}
    )
    assert resp.status_code == 200, resp.text[:300]
    assert resp.json()["results"][0]["status"] == "failed"
    public = await system.http.post(
        f"{system.intake_url}/v1/sync/push",
        json={"device_id": "dev-w001", "items": [], "pad": big},
        headers=await system.auth("w001", "dev-w001"),
    )
    assert public.status_code == 413


async def test_a_parked_event_holds_its_aggregate_until_an_operator_skips_it(system):
    destination = f"ops-{uuid.uuid4().hex[:8]}"
    consumer = _Consumer(limit=10_000_000)
    served, relay = await _relay_to(system, consumer, destination, max_failures=1)
    db = system.intake_app.state.db
    aggregate = f"case-{uuid.uuid4()}"
    first, second = (
        Event(type=t, aggregate_id=aggregate, payload={"n": i}, destinations=(destination,))
        for i, t in enumerate(("poison", "case.closed"))
    )
    async with db.unit_of_work() as s:
        await publish(s, intake_outbox, [first, second])
    admin = await system.auth("admin")
    base = f"{system.intake_url}/v1/admin/outbox"
    manual = ManualClock()
    clock.use(manual)
    try:
        await relay.run_once()
        manual.advance(hours=1)
        await relay.run_once()
        assert str(second.event_id) not in consumer.taken  # held behind the parked one: order matters

        assert (await system.http.get(base, headers=await system.auth("d001"))).status_code == 404  # operators only
        listing = await system.http.get(base, params={"status": "parked", "limit": 500}, headers=admin)
        assert listing.status_code == 200
        [parked] = [r for r in listing.json()["items"] if r["aggregate_id"] == aggregate]
        assert parked["event_id"] == str(first.event_id) and parked["last_error"] == "poison"

        retried = await system.http.post(f"{base}/{parked['id']}/retry", headers=admin)
        assert retried.status_code == 200 and retried.json()["parked_at"] is None and retried.json()["failures"] == 0
        await relay.run_once()  # fails again and parks again; the second still waits
        assert str(second.event_id) not in consumer.taken

        no_reason = await system.http.post(f"{base}/{parked['id']}/skip", json={}, headers=admin)
        assert no_reason.status_code == 422
        skipped = await system.http.post(
            f"{base}/{parked['id']}/skip", json={"reason": "案件已人工补录"}, headers=admin
        )
        assert skipped.status_code == 200, skipped.text
        assert skipped.json()["skip_reason"] == "案件已人工补录" and skipped.json()["skipped_by"] == "admin"
        assert (
            await system.http.post(f"{base}/{parked['id']}/skip", json={"reason": "again"}, headers=admin)
        ).status_code == 404

        await relay.run_once()
        assert str(second.event_id) in consumer.taken  # the aggregate flows again
        kept = await system.http.get(base, params={"status": "skipped", "limit": 500}, headers=admin)
        assert any(r["id"] == parked["id"] for r in kept.json()["items"])
        manual.advance(days=30)
        await relay.prune()
    finally:
        clock.reset()
        await relay.close()
        await served.stop()
    async with db.unit_of_work() as s:
        assert (
            await s.execute(text("SELECT count(*) FROM intake.outbox WHERE id = :i"), {"i": parked["id"]})
        ).scalar() == 1  # never pruned


async def test_every_service_shows_operators_its_parked_events(system):
    admin = await system.auth("admin")
    for url in (system.intake_url, system.cases_url, system.notify_url):
        resp = await system.http.get(f"{url}/v1/admin/outbox", params={"status": "parked"}, headers=admin)
        assert resp.status_code == 200, (url, resp.text)
        assert (await system.http.get(f"{url}/v1/admin/outbox", headers=await system.auth("l001"))).status_code == 404


class _SlowConsumer(_Consumer):
    """Takes `per_event` seconds of the test's clock for each event of a POST, like a consumer that makes a
    case per event: it moves the manual clock instead of sleeping."""

    def __init__(self, manual: ManualClock, per_event: float) -> None:
        super().__init__(limit=64 * 1024 * 1024)
        self.manual = manual
        self.per_event = per_event
        self.counts: list[int] = []

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return
        body = await _read_body(receive)
        events = json.loads(body)["events"]
        self.counts.append(len(events))
        self.manual.advance(seconds=self.per_event * len(events))
        self.taken += [e["id"] for e in events]
        answer = json.dumps({"results": [{"id": e["id"], "status": "processed"} for e in events]}).encode()
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": answer})


async def test_a_slow_consumer_gets_smaller_batches_and_a_fast_one_larger_again(system):
    manual = ManualClock()
    clock.use(manual)
    consumer = _SlowConsumer(manual, per_event=0.01)
    destination = f"slow-{uuid.uuid4().hex[:8]}"
    served, relay = await _relay_to(
        system,
        consumer,
        destination,
        batch_size=200,
        initial_batch_size=200,
        min_batch_size=10,
        target_post_seconds=0.3,
    )
    try:
        ids = await _big_events(system.intake_app.state.db, destination, 400, 100)
        assert await relay.run_once() == 400
        # 200 events took 2 s, past the 0.3 s target: each round halves until a round fits the target
        assert consumer.counts[:4] == [200, 100, 50, 25], consumer.counts
        assert relay.limits[destination] == 25
        consumer.per_event = 0.0  # the consumer is quick again: full rounds well inside the target grow the batch
        more = await _big_events(system.intake_app.state.db, destination, 300, 100)
        assert await relay.run_once() == 300
        assert relay.limits[destination] > 25 and max(consumer.counts[-3:]) > 25, consumer.counts
        assert (
            Relay(system.intake_app.state.db, "intake", "intake", {destination: "http://127.0.0.1:9"}, "t").limits[
                destination
            ]
            == 50
        )
    finally:
        clock.reset()
        await relay.close()
        await served.stop()
    assert sorted(consumer.taken) == sorted(ids + more)


async def test_a_long_run_of_one_aggregate_does_not_shrink_a_small_claim_to_its_head(system):
    consumer = _SlowConsumer(ManualClock(), per_event=0.0)
    destination = f"run-{uuid.uuid4().hex[:8]}"
    served, relay = await _relay_to(
        system, consumer, destination, batch_size=200, initial_batch_size=10, min_batch_size=10
    )
    run = f"merge-{uuid.uuid4()}"
    try:
        async with system.intake_app.state.db.unit_of_work() as s:  # e.g. a merge: 60 events of one case first
            await publish(
                s,
                intake_outbox,
                [
                    Event(type="report.status", aggregate_id=run, payload={"i": i}, destinations=(destination,))
                    for i in range(60)
                ],
            )
        others = await _big_events(system.intake_app.state.db, destination, 20, 100)
        delivered = 0
        for _ in range(5):  # at most max_run (16) events of the run per claim, so more than one tick
            delivered += await relay.run_once()
        assert delivered == 80
    finally:
        await relay.close()
        await served.stop()
    # the first claim takes the run's head and 9 other cases' events, not the head alone
    assert consumer.counts[0] == 10, consumer.counts
    assert set(others) <= set(consumer.taken)


async def test_a_cases_events_go_in_one_claim_in_order_and_wait_behind_a_failure(system):
    """A claim takes an aggregate's run of due events (not its head alone), in id order; the consumer defers
    what follows a failed one, and the next claims leave the rest held behind it."""
    destination = f"run-{uuid.uuid4().hex[:8]}"
    consumer = _Consumer(limit=10_000_000)
    served, relay = await _relay_to(system, consumer, destination)
    db = system.intake_app.state.db
    a, b = f"case-{uuid.uuid4()}", f"case-{uuid.uuid4()}"
    kinds = ("case.received", "case.graded", "poison", "case.closed", "case.reopened")
    run = [Event(type=t, aggregate_id=a, payload={"i": i}, destinations=(destination,)) for i, t in enumerate(kinds)]
    other = Event(type="case.received", aggregate_id=b, payload={}, destinations=(destination,))
    async with db.unit_of_work() as s:
        await publish(s, intake_outbox, [*run, other])
    try:
        assert await relay.run_once() == 3
    finally:
        await relay.close()
        await served.stop()
    ids = [str(e.event_id) for e in run]
    assert consumer.posts[0] == [*ids, str(other.event_id)]  # the whole run in one POST, in order
    assert consumer.taken == [ids[0], ids[1], str(other.event_id)]
    assert len(consumer.posts) == 1  # the deferred two stay held behind the failed one (it backs off)
    async with db.unit_of_work() as s:
        rows = {
            str(r.event_id): r
            for r in await s.execute(
                text("SELECT event_id, failures, delivered_at, lease_until FROM intake.outbox WHERE aggregate_id = :a"),
                {"a": a},
            )
        }
    assert [rows[i].delivered_at is not None for i in ids] == [True, True, False, False, False]
    assert [rows[i].failures for i in ids[2:]] == [1, 0, 0] and all(rows[i].lease_until is None for i in ids)
    await settle_outbox(db, "intake", aggregate_id=a)


async def test_a_cases_events_in_a_later_part_are_not_sent_when_an_earlier_part_failed(system):
    """Parts of one claim go one after another: when an aggregate's event in one part is not delivered, its
    events in the later parts are not sent at all (released, still in order, never counted as failures)."""
    destination = f"parts-{uuid.uuid4().hex[:8]}"
    consumer = _Consumer(limit=10_000_000)
    served, relay = await _relay_to(system, consumer, destination, max_post_bytes=600)
    db = system.intake_app.state.db
    a = f"case-{uuid.uuid4()}"
    pad = "纠纷" * 60  # each event alone fills a part
    first = Event(type="poison", aggregate_id=a, payload={"pad": pad}, destinations=(destination,))
    rest = [
        Event(type="case.closed", aggregate_id=a, payload={"pad": pad, "i": i}, destinations=(destination,))
        for i in range(2)
    ]
    async with db.unit_of_work() as s:
        await publish(s, intake_outbox, [first, *rest])
    try:
        assert await relay.run_once() == 0
    finally:
        await relay.close()
        await served.stop()
    assert consumer.posts == [[str(first.event_id)]]
    async with db.unit_of_work() as s:
        rows = (
            await s.execute(
                text(
                    "SELECT failures, delivered_at, lease_until FROM intake.outbox WHERE aggregate_id = :a ORDER BY id"
                ),
                {"a": a},
            )
        ).all()
    assert [(r.failures, r.delivered_at, r.lease_until) for r in rows] == [
        (1, None, None),
        (0, None, None),
        (0, None, None),
    ]
    await settle_outbox(db, "intake", aggregate_id=a)


def _stand_in_rounds(state: dict[str, int]):
    """Rounds of 10 events each until `left` runs out, counting how many are out at once (`open`, `most`)."""

    async def round_(name: str, url: str) -> tuple[int, int]:
        state["open"] += 1
        state["most"] = max(state["most"], state["open"])
        for _ in range(3):
            await asyncio.sleep(0)  # a turn of the event loop, as a claim's and a POST's awaits give
        state["open"] -= 1
        if state["left"] == 0:
            return 0, 0
        state["left"] -= 1
        return 10, 10

    return round_


async def test_rounds_in_flight_are_kept_per_consumer(system):
    """`concurrency` per consumer: with two a second round starts while the first is still out, with one never.
    The rounds here are stand-ins that yield to the event loop a few times (no database, no waiting)."""
    for wanted in (2, 1):
        relay = Relay(
            system.intake_app.state.db,
            "intake",
            "intake",
            {"busy": "http://127.0.0.1:9"},
            "t",
            concurrency=2,
            consumer_concurrency={"busy": wanted},
        )
        state = {"open": 0, "most": 0, "left": 8}
        relay._round = _stand_in_rounds(state)  # type: ignore[method-assign]
        assert await relay.run_once() == 80
        assert state["most"] == wanted, (wanted, state)
