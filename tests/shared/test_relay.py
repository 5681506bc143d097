"""The outbox relay: a consumer that is down loses nothing; a poison event is parked and visible."""
from __future__ import annotations

import uuid

from sqlalchemy import text

from factories import report
from services.intake.db import outbox as intake_outbox
from shared.clock import ManualClock, clock
from shared.outbox import Event, publish


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
        relay = system.intake_app.state.relay
        assert await relay.run_once() == 0
        async with system.intake_app.state.db.unit_of_work() as s:
            rows = (await s.execute(
                text("SELECT attempts, last_error, delivered_at FROM intake.outbox WHERE aggregate_id = ANY(:a)"),
                {"a": [i["id"] for i in items]},
            )).all()
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
        n = (await s.execute(text("SELECT count(*) FROM cases.case_reports WHERE CAST(report_id AS text) = ANY(:a)"), {"a": [i["id"] for i in items]})).scalar()
    assert n == 5


async def test_poison_event_is_parked_and_visible_and_does_not_block_others(system):
    db = system.intake_app.state.db
    poison_agg = f"poison-{uuid.uuid4()}"
    async with db.unit_of_work() as s:
        await publish(s, intake_outbox, [Event(type="no.such.event", aggregate_id=poison_agg, payload={}, destinations=("cases",))])
    good = report()
    await system.http.post(
        f"{system.intake_url}/v1/sync/push", json={"device_id": "dev-w001", "items": [good]}, headers=await system.auth("w001", "dev-w001")
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
        f"{system.intake_url}/internal/v1/outbox", params={"status": "parked"}, headers={"Authorization": "Bearer test-service-token"}
    )
    assert listing.status_code == 200
    parked = [r for r in listing.json()["items"] if r["aggregate_id"] == poison_agg]
    assert len(parked) == 1 and "unknown event type" in parked[0]["last_error"]
    async with system.cases_app.state.db.unit_of_work() as s:
        assert (await s.execute(text("SELECT count(*) FROM cases.case_reports WHERE report_id = :r"), {"r": uuid.UUID(good["id"])})).scalar() == 1
    replay = await system.http.post(
        f"{system.intake_url}/internal/v1/outbox/{parked[0]['id']}/replay", headers={"Authorization": "Bearer test-service-token"}
    )
    assert replay.status_code == 200 and replay.json()["parked_at"] is None
    # Put it back so other tests are not disturbed.
    async with db.unit_of_work() as s:
        await s.execute(text("UPDATE intake.outbox SET delivered_at = now() WHERE aggregate_id = :a"), {"a": poison_agg})


async def test_internal_endpoints_need_the_service_credential(system):
    for url in (f"{system.intake_url}/internal/v1/events", f"{system.cases_url}/internal/v1/events"):
        resp = await system.http.post(url, json={"source": "x", "events": []}, headers={"Authorization": "Bearer wrong"})
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
    relay = system.intake_app.state.relay
    blocked = f"blocked-{uuid.uuid4()}"
    async with db.unit_of_work() as s:
        await publish(s, intake_outbox, [Event(type="no.such.event", aggregate_id=blocked, payload={"i": i}, destinations=("cases",)) for i in range(relay.batch_size * 3)])
        await s.execute(
            text("UPDATE intake.outbox SET next_attempt_at = next_attempt_at + interval '1 day' WHERE id = (SELECT min(id) FROM intake.outbox WHERE aggregate_id = :a)"),
            {"a": blocked},
        )
    good = report()
    resp = await system.http.post(
        f"{system.intake_url}/v1/sync/push", json={"device_id": "dev-w001", "items": [good]}, headers=await system.auth("w001", "dev-w001")
    )
    assert resp.status_code == 200
    await system.drain()
    async with system.cases_app.state.db.unit_of_work() as s:
        assert (await s.execute(text("SELECT count(*) FROM cases.case_reports WHERE report_id = :r"), {"r": uuid.UUID(good["id"])})).scalar() == 1
    async with db.unit_of_work() as s:
        left = (await s.execute(text("SELECT count(*) FROM intake.outbox WHERE aggregate_id = :a AND delivered_at IS NULL"), {"a": blocked})).scalar()
        assert left == relay.batch_size * 3  # still in order behind their head, none skipped ahead
        await s.execute(text("UPDATE intake.outbox SET delivered_at = now() WHERE aggregate_id = :a"), {"a": blocked})
