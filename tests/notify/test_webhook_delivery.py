"""Webhooks to department systems: retries under one webhook-id, dead letters and their replay, slow and
gone endpoints, redirects, and a worker killed mid-flight. Department systems are real HTTP servers;
the retry schedule is moved through with the clock, never slept through."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from datetime import timedelta

from sqlalchemy import text

from services.notify.delivery import repository as repo
from services.notify.delivery.clients import DeliveryClients
from services.notify.delivery.jobs import deliver_due, stop_delivering
from services.notify.delivery.policy import parse_schedule
from shared.clock import clock
from tests.notify.factories import department, insert_delivery, put_endpoint
from tests.notify.fakes import Receiver, Reply, new_secret, signed_by, verify
from tests.notify.helpers import fetch, notify_context, run_worker
from tests.support import ROOT, free_port


def past_wait(settings, attempt: int) -> float:
    """Seconds that are surely past the wait after failed attempt `attempt` (schedule + 10 % jitter)."""
    return parse_schedule(settings.webhook_retry_schedule)[attempt - 1] * 1.1 + 0.01


async def test_receiver_failing_twice_gets_one_message_under_one_webhook_id(system, notify_app, admin, manual_clock):
    code, secret = department(), new_secret()
    async with Receiver(lambda req, n: 500 if n <= 2 else 200) as receiver:
        assert (await put_endpoint(system, admin, code, receiver.url(), secret)).status_code == 200
        row = await insert_delivery(notify_app.state.db, target=code)
        settings = notify_app.state.settings

        await run_worker(notify_app)
        first = await fetch(notify_app.state.db, row["id"])
        assert (first.state, first.attempts, first.last_status) == ("failed", 1, 500)
        assert first.next_attempt_at > clock.now()
        await run_worker(notify_app)  # not due yet: nothing is sent
        assert len(receiver.received) == 1

        manual_clock.advance(seconds=past_wait(settings, 1))
        await run_worker(notify_app)
        assert (await fetch(notify_app.state.db, row["id"])).attempts == 2
        manual_clock.advance(seconds=past_wait(settings, 2))
        await run_worker(notify_app)

        done = await fetch(notify_app.state.db, row["id"])
        assert (done.state, done.attempts, done.last_status, done.last_error) == ("delivered", 3, 200, None)
        assert done.delivered_at == clock.now()
        assert receiver.ids() == [row["message_id"]] * 3
        assert receiver.delivered_ids() == [row["message_id"]]
        for req in receiver.received:
            assert verify(secret, req)["type"] == "whistle.created"  # the reference verifier
            assert req.json()["data"] == receiver.received[0].json()["data"]
        stamps = [int(r.headers["webhook-timestamp"]) for r in receiver.received]
        assert stamps == sorted(stamps) and stamps[0] < stamps[-1]  # each attempt is signed at its own time


async def test_unreachable_endpoint_goes_dead_after_the_schedule_and_is_replayed_by_retry(
    system, notify_app, admin, manual_clock
):
    code, secret = department(), new_secret()
    dead_url = f"http://127.0.0.1:{free_port()}/hook"  # nothing listens there
    assert (await put_endpoint(system, admin, code, dead_url, secret)).status_code == 200
    row = await insert_delivery(notify_app.state.db, target=code)
    settings = notify_app.state.settings
    schedule = parse_schedule(settings.webhook_retry_schedule)

    for attempt in range(1, len(schedule) + 1):
        await run_worker(notify_app)
        failed = await fetch(notify_app.state.db, row["id"])
        assert (failed.state, failed.attempts) == ("failed", attempt)
        assert failed.last_error.startswith("cannot connect"), failed.last_error
        wait = (failed.next_attempt_at - clock.now()).total_seconds()
        assert schedule[attempt - 1] * 0.9 - 0.001 <= wait <= schedule[attempt - 1] * 1.1 + 0.001
        manual_clock.advance(seconds=past_wait(settings, attempt))
    await run_worker(notify_app)
    dead = await fetch(notify_app.state.db, row["id"])
    assert (dead.state, dead.attempts, dead.next_attempt_at) == ("dead", len(schedule) + 1, None)
    assert dead.last_error.startswith(f"gave up after {len(schedule) + 1} attempts")
    manual_clock.advance(hours=1)
    assert await run_worker(notify_app) == 0  # a dead letter stays dead

    async with Receiver() as receiver:
        assert (
            await put_endpoint(system, admin, code, receiver.url(), None)
        ).status_code == 200  # the operator fixes the URL
        resp = await system.http.post(f"{system.notify_url}/v1/deliveries/{row['id']}/retry", headers=admin)
        assert resp.status_code == 200, resp.text
        assert (resp.json()["state"], resp.json()["attempts"]) == ("pending", len(schedule) + 1)
        await run_worker(notify_app)
        replayed = await fetch(notify_app.state.db, row["id"])
        assert (replayed.state, replayed.attempts) == ("delivered", len(schedule) + 2)
        assert receiver.ids() == [row["message_id"]]
        assert signed_by(secret, receiver.received[0])  # the clock is an hour ahead: no timestamp check


async def test_slow_endpoint_does_not_hold_up_other_deliveries(system, notify_app, admin):
    """A department whose system hangs gets at most `delivery_per_endpoint` requests at once; the other
    slots carry everyone else's messages meanwhile, whatever the number of the slow one's rows."""
    slow_code, fast_code = department(), department()
    timeout = 1.5
    async with Receiver(lambda req, n: Reply(200, delay=10)) as slow, Receiver() as fast:
        assert (await put_endpoint(system, admin, slow_code, slow.url(), new_secret())).status_code == 200
        assert (await put_endpoint(system, admin, fast_code, fast.url(), new_secret())).status_code == 200
        db = notify_app.state.db
        earlier = clock.now() - timedelta(seconds=1)  # the slow ones are due first and would take every slot
        slow_rows = [await insert_delivery(db, target=slow_code, next_attempt_at=earlier) for _ in range(6)]
        fast_rows = [await insert_delivery(db, target=fast_code) for _ in range(40)]

        started = time.time()
        await run_worker(
            notify_app,
            webhook_timeout_seconds=timeout,
            delivery_concurrency=4,
            delivery_per_endpoint=2,
            webhook_retry_schedule="1h",
        )  # no second attempt within this run
        elapsed = time.time() - started

        for row in fast_rows:
            assert (await fetch(db, row["id"])).state == "delivered"
        assert sorted(fast.ids()) == sorted(r["message_id"] for r in fast_rows)
        # every fast message arrived before the first slow request could even time out
        assert max(r.at for r in fast.received) - started < timeout, max(r.at for r in fast.received) - started
        for row in slow_rows:
            r = await fetch(db, row["id"])
            assert r.state == "failed" and r.last_error.startswith("timeout"), r.last_error
        # never more than 2 at once at the slow one: 6 requests in 3 rounds of one timeout each
        assert len(slow.received) == 6
        firsts = sorted(r.at for r in slow.received)
        assert firsts[2] - firsts[0] >= timeout * 0.9 and firsts[4] - firsts[2] >= timeout * 0.9
        assert elapsed < 3 * timeout + 2.5, elapsed


async def test_410_gone_disables_the_endpoint_and_kills_the_delivery(system, notify_app, admin):
    code = department()
    async with Receiver(lambda req, n: 410) as receiver:
        assert (await put_endpoint(system, admin, code, receiver.url(), new_secret())).status_code == 200
        db = notify_app.state.db
        gone = await insert_delivery(db, target=code)
        await run_worker(notify_app)
        row = await fetch(db, gone["id"])
        assert (row.state, row.last_status, row.attempts) == ("dead", 410, 1)
        assert "410" in row.last_error

        ep = (await system.http.get(f"{system.notify_url}/v1/endpoints/{code}", headers=admin)).json()
        assert ep["state"] == "disabled" and "410" in ep["disabled_reason"]

        later = await insert_delivery(db, target=code)
        await run_worker(notify_app)
        row = await fetch(db, later["id"])
        assert row.state == "failed" and "disabled" in row.last_error  # kept for when an operator fixes it
        assert len(receiver.received) == 1

        resp = await put_endpoint(system, admin, code, receiver.url(), None)
        assert resp.json()["state"] == "active" and resp.json()["disabled_reason"] is None


async def test_a_redirect_is_not_followed_and_counts_as_a_failure(system, notify_app, admin):
    code = department()
    async with (
        Receiver() as elsewhere,
        Receiver(lambda req, n: Reply(302, headers={"Location": elsewhere.url()})) as receiver,
    ):
        assert (await put_endpoint(system, admin, code, receiver.url(), new_secret())).status_code == 200
        row = await insert_delivery(notify_app.state.db, target=code)
        await run_worker(notify_app)
        r = await fetch(notify_app.state.db, row["id"])
        assert (r.state, r.last_status) == ("failed", 302)
        assert "redirect not followed" in r.last_error
        assert len(receiver.received) == 1 and elsewhere.received == []


async def test_a_delivery_without_an_endpoint_fails_visibly_and_is_retried_later(notify_app, manual_clock):
    code = department()
    row = await insert_delivery(notify_app.state.db, target=code)
    await run_worker(notify_app)
    r = await fetch(notify_app.state.db, row["id"])
    assert (r.state, r.attempts) == ("failed", 1)
    assert f"no webhook endpoint is configured for department {code}" == r.last_error
    assert r.next_attempt_at > clock.now()


async def test_a_claim_whose_worker_vanished_is_sent_once_after_the_lease(system, notify_app, admin, manual_clock):
    code, secret = department(), new_secret()
    async with Receiver() as receiver:
        assert (await put_endpoint(system, admin, code, receiver.url(), secret)).status_code == 200
        db = notify_app.state.db
        row = await insert_delivery(db, target=code)
        lease = clock.now() + timedelta(seconds=30)
        async with db.unit_of_work() as session:  # a worker takes the row … and is gone
            claimed = await repo.claim_due(session, clock.now(), lease, 1000)
        assert row["id"] in {c.id for c in claimed}

        await run_worker(notify_app)
        assert receiver.received == []  # the lease is in force
        manual_clock.advance(seconds=31)
        await run_worker(notify_app)
        assert receiver.ids() == [row["message_id"]]
        assert (await fetch(db, row["id"])).state == "delivered"
        assert verify(secret, receiver.received[0])


async def test_a_worker_killed_mid_request_is_taken_over_with_the_same_webhook_id(
    system, notify_app, admin, manual_clock
):
    """kill -9 of a real worker process while its request is at the receiver: after the lease another
    worker sends the same message under the same webhook-id (at least once, never a second id)."""
    code, secret = department(), new_secret()
    answer_first = asyncio.Event()

    async def behaviour(req, n):
        if n == 1:
            await answer_first.wait()  # held until the sender is dead
        return 200

    async with Receiver(behaviour) as receiver:
        assert (await put_endpoint(system, admin, code, receiver.url(), secret)).status_code == 200
        db = notify_app.state.db
        row = await insert_delivery(db, target=code)
        settings = notify_app.state.settings
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "DATABASE_URL": system.db_url,
            "PII_KEY": settings.pii_key,
            "PII_HASH_KEY": settings.pii_hash_key,
            "SERVICE_TOKEN": settings.service_token,
            "SERVICE_TOKENS": ",".join(f"{k}:{v}" for k, v in settings.service_tokens.items()),
            "WEBHOOK_ALLOW_PRIVATE_TARGETS": "true",
            "WEBHOOK_TIMEOUT_SECONDS": "10",
        }
        script = (
            "import asyncio\n"
            "from services.notify.config import NotifySettings\n"
            "from services.notify.delivery.clients import DeliveryClients\n"
            "from services.notify.delivery.jobs import deliver_due\n"
            "from shared.db import Database\n"
            "from shared.pii import PiiCipher\n"
            "async def main():\n"
            "    s = NotifySettings()\n"
            "    db = Database(s.database_url, 2)\n"
            "    await deliver_due(db, s, PiiCipher(s.pii_key, s.pii_hash_key), DeliveryClients(s))\n"
            "asyncio.run(main())\n"
        )
        proc = await asyncio.create_subprocess_exec(sys.executable, "-c", script, cwd=ROOT, env=env)
        try:
            await receiver.wait_for(1, seconds=30)
        finally:
            proc.send_signal(signal.SIGKILL)
            await asyncio.wait_for(proc.wait(), 10)
        answer_first.set()

        leased = await fetch(db, row["id"])
        assert leased.state == "pending" and leased.lease_until is not None
        assert leased.lease_until > clock.now()
        await run_worker(notify_app)
        assert len(receiver.received) == 1  # the dead worker's lease still holds

        manual_clock.set(leased.lease_until + timedelta(seconds=1))
        await run_worker(notify_app)
        done = await fetch(db, row["id"])
        assert done.state == "delivered"
        assert receiver.ids() == [row["message_id"], row["message_id"]]
        assert set(receiver.delivered_ids()) == {row["message_id"]}
        assert all(signed_by(secret, r) for r in receiver.received)
        assert receiver.received[0].body == receiver.received[1].body


async def test_concurrent_workers_send_each_delivery_once(system, notify_app, admin):
    """Two replicas tick at the same time: SKIP LOCKED hands each row to one of them."""
    code = department()
    async with Receiver() as receiver:
        assert (await put_endpoint(system, admin, code, receiver.url(), new_secret())).status_code == 200
        db = notify_app.state.db
        rows = [await insert_delivery(db, target=code) for _ in range(150)]
        await asyncio.gather(
            *(
                run_worker(notify_app, delivery_concurrency=8, delivery_batch=20, delivery_per_endpoint=8)
                for _ in range(3)
            )
        )
        assert sorted(receiver.ids()) == sorted(r["message_id"] for r in rows)
        async with db.unit_of_work() as session:
            states = (
                await session.execute(
                    text("SELECT state, count(*) FROM notify.deliveries WHERE target = :c GROUP BY state"), {"c": code}
                )
            ).all()
        assert dict(states) == {"delivered": 150}


async def test_shutdown_lets_a_send_in_flight_finish(system, notify_app, admin):
    code = department()
    async with Receiver(lambda req, n: Reply(200, delay=0.5)) as receiver:
        assert (await put_endpoint(system, admin, code, receiver.url(), new_secret())).status_code == 200
        row = await insert_delivery(notify_app.state.db, target=code)
        settings = notify_app.state.settings
        clients = DeliveryClients(settings)
        run = asyncio.ensure_future(
            deliver_due(notify_app.state.db, settings, notify_context(notify_app).cipher, clients, max_seconds=20)
        )
        await receiver.wait_for(1)
        await stop_delivering(clients, [run], grace_seconds=5)
        assert run.done() and not run.cancelled()
        done = await fetch(notify_app.state.db, row["id"])
        assert (done.state, done.attempts) == ("delivered", 1)


async def test_a_send_cut_short_by_shutdown_is_given_back_without_counting_an_attempt(system, notify_app, admin):
    """No retries left (an empty schedule): had the cut-short send counted, the delivery would be dead."""
    code = department()
    async with Receiver(lambda req, n: Reply(200, delay=10)) as receiver:
        assert (await put_endpoint(system, admin, code, receiver.url(), new_secret())).status_code == 200
        rows = [await insert_delivery(notify_app.state.db, target=code) for _ in range(3)]
        settings = notify_app.state.settings.model_copy(
            update={"webhook_retry_schedule": "", "webhook_timeout_seconds": 8, "delivery_per_endpoint": 1}
        )
        clients = DeliveryClients(settings)
        run = asyncio.ensure_future(
            deliver_due(notify_app.state.db, settings, notify_context(notify_app).cipher, clients, max_seconds=20)
        )
        await receiver.wait_for(1)
        started = time.monotonic()
        await stop_delivering(clients, [run], grace_seconds=0.3)
        assert time.monotonic() - started < 3 and run.done() and not run.cancelled()
        assert len(receiver.received) == 1  # one in flight, two waiting for the department's slot
        for row in rows:
            r = await fetch(notify_app.state.db, row["id"])
            assert (r.state, r.attempts, r.lease_until, r.last_error) == ("pending", 0, None, None)
            assert r.next_attempt_at <= clock.now()  # due at once for the next process
