"""Operators list deliveries by state and channel (cursor paging) and send failed or dead ones again."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import text

from services.notify.delivery.jobs import prune_deliveries
from shared.clock import clock
from tests.notify.factories import insert_delivery
from tests.notify.helpers import fetch, notify_context


async def test_operators_page_through_dead_letters_and_filter_by_channel(system, notify_app, admin):
    db = notify_app.state.db
    base = clock.now() + timedelta(days=3650)  # newer than anything else in the table: these come first
    code = f"T-{uuid.uuid4().hex[:10]}"
    dead = [
        await insert_delivery(
            db, target=code, state="dead", attempts=8, last_error="gave up", created_at=base + timedelta(seconds=i)
        )
        for i in range(5)
    ]
    phone = notify_context(notify_app).cipher.encrypt("13800001234")
    sms = await insert_delivery(
        db,
        target=phone,
        channel="sms",
        payload={"text": "短信", "major": False},
        state="dead",
        created_at=base + timedelta(seconds=10),
        last_error="daily SMS cap reached",
    )
    await insert_delivery(db, target=code, state="delivered", created_at=base + timedelta(seconds=20))

    url = f"{system.notify_url}/v1/deliveries"
    seen: list[str] = []
    cursor = None
    for _ in range(3):
        params = {"status": "dead", "channel": "webhook", "limit": 2} | ({"cursor": cursor} if cursor else {})
        resp = await system.http.get(url, params=params, headers=admin)
        assert resp.status_code == 200, resp.text
        page = resp.json()
        seen += [i["id"] for i in page["items"]]
        assert all(i["state"] == "dead" and i["channel"] == "webhook" for i in page["items"])
        cursor = page["next_cursor"]
    assert seen[:5] == [str(d["id"]) for d in reversed(dead)]  # newest first, no gap, no repeat
    first = (
        await system.http.get(url, params={"status": "dead", "channel": "webhook", "limit": 1}, headers=admin)
    ).json()["items"][0]
    assert first["message_id"] == dead[-1]["message_id"] and first["event_type"] == "whistle.created"
    assert first["target"] == code and first["last_error"] == "gave up"

    sms_items = (
        await system.http.get(url, params={"status": "dead", "channel": "sms", "limit": 1}, headers=admin)
    ).json()["items"]
    assert sms_items[0]["id"] == str(sms["id"])
    assert sms_items[0]["target"] == "138****1234"  # masked, never the number or its ciphertext

    assert (await system.http.get(url, params={"cursor": "garbage"}, headers=admin)).status_code == 422
    assert (await system.http.get(url, params={"status": "lost"}, headers=admin)).status_code == 422
    assert (await system.http.get(url, headers=await system.auth("d001"))).status_code == 404
    assert (await system.http.get(url)).status_code == 401


async def test_retry_puts_a_dead_or_failed_delivery_back_now_and_refuses_a_delivered_one(system, notify_app, admin):
    db = notify_app.state.db
    code = f"T-{uuid.uuid4().hex[:10]}"
    dead = await insert_delivery(db, target=code, state="dead", attempts=8, last_error="gave up after 8 attempts")
    failed = await insert_delivery(
        db, target=code, state="failed", attempts=2, next_attempt_at=clock.now() + timedelta(hours=2)
    )
    delivered = await insert_delivery(db, target=code, state="delivered", attempts=1)

    for row, attempts in ((dead, 8), (failed, 2)):
        resp = await system.http.post(f"{system.notify_url}/v1/deliveries/{row['id']}/retry", headers=admin)
        assert resp.status_code == 200, resp.text
        assert (resp.json()["state"], resp.json()["attempts"]) == ("pending", attempts)
        r = await fetch(db, row["id"])
        assert r.state == "pending" and r.next_attempt_at <= clock.now() and r.message_id == row["message_id"]

    conflict = await system.http.post(f"{system.notify_url}/v1/deliveries/{delivered['id']}/retry", headers=admin)
    assert conflict.status_code == 409
    assert conflict.headers["content-type"].startswith("application/problem+json")
    missing = await system.http.post(f"{system.notify_url}/v1/deliveries/{uuid.uuid4()}/retry", headers=admin)
    assert missing.status_code == 404
    other = await system.http.post(
        f"{system.notify_url}/v1/deliveries/{dead['id']}/retry", headers=await system.auth("d001")
    )
    assert other.status_code == 404


async def test_old_delivered_rows_are_pruned_and_dead_letters_kept(notify_app):
    db = notify_app.state.db
    code = f"T-{uuid.uuid4().hex[:10]}"
    old = clock.now() - timedelta(days=30)
    await insert_delivery(db, target=code, state="delivered", created_at=old, delivered_at=old)
    recent = await insert_delivery(db, target=code, state="delivered")
    dead = await insert_delivery(db, target=code, state="dead", created_at=old)

    assert await prune_deliveries(db) >= 1
    async with db.unit_of_work() as session:
        left = {
            r.id
            for r in (
                await session.execute(text("SELECT id FROM notify.deliveries WHERE target = :c"), {"c": code})
            ).all()
        }
    assert left == {recent["id"], dead["id"]}


async def test_bulk_retry_requeues_every_matching_dead_or_failed_delivery_at_once(system, notify_app, admin):
    db = notify_app.state.db
    code, other = f"T-{uuid.uuid4().hex[:10]}", f"T-{uuid.uuid4().hex[:10]}"
    since = clock.now() - timedelta(hours=1)
    later = clock.now() + timedelta(days=1)
    dead = [await insert_delivery(db, target=code, state="dead", attempts=8, last_error="gave up") for _ in range(3)]
    failed = await insert_delivery(db, target=code, state="failed", attempts=2, next_attempt_at=later)
    old = await insert_delivery(db, target=code, state="dead", attempts=8, created_at=since - timedelta(days=1))
    elsewhere = await insert_delivery(db, target=other, state="dead", attempts=8)
    delivered = await insert_delivery(db, target=code, state="delivered")

    url = f"{system.notify_url}/v1/deliveries/retry"
    resp = await system.http.post(url, json={"department": code, "since": since.isoformat()}, headers=admin)
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"requeued": 4}
    for row in [*dead, failed]:
        r = await fetch(db, row["id"])
        assert r.state == "pending" and r.next_attempt_at <= clock.now()  # due now, not at its scheduled time
        assert r.attempts == row["attempts"]  # attempts kept
    assert (await fetch(db, old["id"])).state == "dead"
    assert (await fetch(db, elsewhere["id"])).state == "dead"
    assert (await fetch(db, delivered["id"])).state == "delivered"

    bad = await system.http.post(url, json={"status": ["delivered"]}, headers=admin)
    assert bad.status_code == 422 and bad.json()["errors"][0]["loc"][-2:] == ["status", 0]
    assert (await system.http.post(url, json={}, headers=await system.auth("d001"))).status_code == 404
