"""Department webhook endpoints: PUT/GET for operators, secret rotation (the old secret signs 24 h
more), the directory's upsert, and the guard that keeps webhooks off loopback and private networks."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import text

from services.notify.delivery.clients import DeliveryClients
from services.notify.delivery.webhooks import UnsafeTarget
from services.notify.endpoint import service as endpoints
from shared.clock import clock
from tests.notify.factories import add_department, department, insert_delivery, put_endpoint
from tests.notify.fakes import Receiver, new_secret, signed_by, verify
from tests.notify.helpers import fetch, notify_context, run_worker


async def test_put_then_get_shows_the_endpoint_but_never_its_secret(system, notify_app, admin):
    code, secret = department(), new_secret()
    resp = await put_endpoint(system, admin, code, "http://127.0.0.1:9/hook", secret)
    assert resp.status_code == 200, resp.text
    got = await system.http.get(f"{system.notify_url}/v1/endpoints/{code}", headers=admin)
    assert got.status_code == 200
    body = got.json()
    assert (body["url"], body["state"], body["secret_count"]) == ("http://127.0.0.1:9/hook", "active", 1)
    assert body["secrets"][0]["expires_at"] is None
    assert secret[6:] not in got.text and "secret_enc" not in got.text
    async with notify_app.state.db.unit_of_work() as session:
        stored = (
            await session.execute(
                text("SELECT secrets::text FROM notify.endpoints WHERE department_code = :c"), {"c": code}
            )
        ).scalar()
    assert secret[6:] not in stored  # encrypted at rest


async def test_endpoints_are_for_admins_only_and_unknown_ones_are_404(system, notify_app, admin):
    code = department()
    as_dispatcher = await system.auth("d001")
    resp = await put_endpoint(system, as_dispatcher, code, "http://127.0.0.1:9/hook", new_secret())
    assert resp.status_code == 404
    assert (await system.http.get(f"{system.notify_url}/v1/endpoints/{code}", headers=admin)).status_code == 404
    assert (await system.http.get(f"{system.notify_url}/v1/endpoints/{code}")).status_code == 401


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "http://127.0.0.1:9/hook"}, "secret"),  # a new endpoint needs a secret
        ({"url": "http://127.0.0.1:9/hook", "secret": "not-a-secret"}, "secret"),
        ({"url": "http://127.0.0.1:9/hook", "secret": "whsec_c2hvcnQ="}, "secret"),  # 5 bytes
        ({"url": "ftp://example.org/hook", "secret": "whsec_" + "A" * 40}, "url"),
    ],
)
async def test_bad_endpoint_bodies_are_422_naming_the_field(system, notify_app, admin, body, field):
    code = await add_department(notify_app.state.db, department())
    resp = await system.http.put(f"{system.notify_url}/v1/endpoints/{code}", json=body, headers=admin)
    assert resp.status_code == 422, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert any(e["loc"][-1] == field for e in resp.json()["errors"])


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "http://10.1.2.3/hook",
        "http://192.168.1.10/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://100.64.0.1/hook",
        "http://224.0.0.1/hook",
        "http://0.0.0.0/hook",
        "http://vm/hook",
    ],
)
async def test_private_targets_are_refused_at_put_when_not_allowed(system, notify_app, admin, url):
    settings = notify_app.state.settings
    settings.webhook_allow_private_targets = False
    try:
        resp = await put_endpoint(system, admin, department(), url, new_secret())
    finally:
        settings.webhook_allow_private_targets = True
    assert resp.status_code == 422, resp.text
    assert resp.json()["errors"][0]["loc"] == ["body", "url"]
    assert resp.json()["errors"][0]["type"] == "unsafe_url"


async def test_private_targets_are_refused_at_send_time_too(notify_app):
    """An endpoint stored before the setting changed, and a name that resolves to loopback (`vm` in
    /etc/hosts): the worker refuses both, and the connection guard refuses the name at connect."""
    async with Receiver() as receiver:
        db = notify_app.state.db
        literal, named = department(), department()
        async with db.unit_of_work() as session:
            for code, url in ((literal, receiver.url()), (named, f"http://vm:{receiver.port}/hook")):
                await endpoints.upsert_from_directory(
                    session, notify_context(notify_app).cipher, code, url, new_secret(), allow_private_targets=True
                )
        rows = [await insert_delivery(db, target=literal), await insert_delivery(db, target=named)]
        await run_worker(notify_app, webhook_allow_private_targets=False)
        for row in rows:
            r = await fetch(db, row["id"])
            assert r.state == "failed" and r.last_error.startswith("refused target:"), r.last_error
        assert receiver.received == []

        clients = DeliveryClients(notify_app.state.settings, allow_private_targets=False)
        try:
            with pytest.raises(UnsafeTarget, match="loopback"):
                await clients.post_webhook(
                    f"http://vm:{receiver.port}/hook", b"{}", {"content-type": "application/json"}
                )
        finally:
            await clients.close()
        assert receiver.received == []


async def test_rotation_signs_with_both_secrets_for_24_hours_then_only_the_new(system, notify_app, admin, manual_clock):
    code, old, new = department(), new_secret(), new_secret()
    async with Receiver() as receiver:
        assert (await put_endpoint(system, admin, code, receiver.url(), old)).status_code == 200
        resp = await put_endpoint(system, admin, code, receiver.url(), new)
        body = resp.json()
        assert body["secret_count"] == 2
        assert body["secrets"][0]["expires_at"] is None
        assert datetime.fromisoformat(body["secrets"][1]["expires_at"]) == clock.now() + timedelta(hours=24)
        again = await put_endpoint(system, admin, code, receiver.url(), new)  # the same secret: no second rotation
        assert again.json()["secrets"] == body["secrets"]

        await insert_delivery(notify_app.state.db, target=code)
        await run_worker(notify_app)
        first = receiver.received[-1]
        assert len(first.headers["webhook-signature"].split(" ")) == 2
        assert verify(old, first) and verify(new, first)  # a receiver with either secret accepts it

        manual_clock.advance(hours=24, seconds=1)
        await insert_delivery(notify_app.state.db, target=code)
        await run_worker(notify_app)
        later = receiver.received[-1]
        assert len(later.headers["webhook-signature"].split(" ")) == 1
        assert signed_by(new, later) and not signed_by(old, later)
        got = (await system.http.get(f"{system.notify_url}/v1/endpoints/{code}", headers=admin)).json()
        assert got["secret_count"] == 1


async def test_directory_upsert_rotates_only_on_a_new_secret(notify_app):
    code, first, second = department(), new_secret(), new_secret()
    cipher, db = notify_context(notify_app).cipher, notify_app.state.db

    async def current():
        async with db.unit_of_work() as session:
            return (
                await session.execute(text("SELECT * FROM notify.endpoints WHERE department_code = :c"), {"c": code})
            ).one()

    async with db.unit_of_work() as session:
        await endpoints.upsert_from_directory(
            session, cipher, code, "http://127.0.0.1:9/a", first, allow_private_targets=True
        )
    created = await current()
    assert (created.url, created.state, len(created.secrets)) == ("http://127.0.0.1:9/a", "active", 1)

    async with db.unit_of_work() as session:
        await endpoints.upsert_from_directory(
            session, cipher, code, "http://127.0.0.1:9/a", first, allow_private_targets=True
        )
    assert (await current()).secrets == created.secrets  # unchanged: not rotated again

    async with db.unit_of_work() as session:
        await endpoints.upsert_from_directory(
            session, cipher, code, "http://127.0.0.1:9/b", second, allow_private_targets=True
        )
    rotated = await current()
    assert rotated.url == "http://127.0.0.1:9/b" and len(rotated.secrets) == 2
    assert [cipher.decrypt(s["secret_enc"]) for s in rotated.secrets] == [second, first]

    async with db.unit_of_work() as session:  # the directory brings a loopback URL while they are not allowed
        await endpoints.upsert_from_directory(
            session, cipher, code, "http://127.0.0.1:9/c", None, allow_private_targets=False
        )
    refused = await current()
    assert refused.state == "disabled" and refused.disabled_reason.startswith("refused target:")
    assert refused.secrets == rotated.secrets


async def test_a_name_that_does_not_resolve_is_refused_at_put(system, notify_app, admin):
    settings = notify_app.state.settings
    settings.webhook_allow_private_targets = False
    try:
        resp = await put_endpoint(system, admin, department(), "https://no-such-host.invalid/hook", new_secret())
    finally:
        settings.webhook_allow_private_targets = True
    assert resp.status_code == 422
    assert "resolve" in resp.json()["errors"][0]["msg"]


async def test_an_org_import_does_not_undo_the_operator_s_url_and_secret(system, notify_app, admin, manual_clock):
    code, org_secret, operator_secret, org_secret_2 = department(), new_secret(), new_secret(), new_secret()
    await add_department(notify_app.state.db, code)
    cipher, db = notify_context(notify_app).cipher, notify_app.state.db
    async with db.unit_of_work() as session:  # the org document seeds the endpoint
        await endpoints.upsert_from_directory(
            session, cipher, code, "http://127.0.0.1:9/org", org_secret, allow_private_targets=True
        )
    resp = await put_endpoint(system, admin, code, "http://127.0.0.1:9/operator", operator_secret)
    assert resp.status_code == 200 and resp.json()["source"] == "operator"

    manual_clock.advance(hours=1)
    async with (
        db.unit_of_work() as session
    ):  # the next org import brings the document's settings again, and a new secret
        await endpoints.upsert_from_directory(
            session, cipher, code, "http://127.0.0.1:9/org", org_secret_2, allow_private_targets=True
        )
    manual_clock.advance(hours=25)  # past the grace of the operator's rotation
    got = (await system.http.get(f"{system.notify_url}/v1/endpoints/{code}", headers=admin)).json()
    assert (got["url"], got["source"], got["secret_count"]) == ("http://127.0.0.1:9/operator", "operator", 1)
    async with db.unit_of_work() as session:
        row = (
            await session.execute(text("SELECT secrets FROM notify.endpoints WHERE department_code = :c"), {"c": code})
        ).scalar()
    assert cipher.decrypt(row[0]["secret_enc"]) == operator_secret and row[0]["expires_at"] is None


async def test_put_for_a_department_the_directory_does_not_know_is_404_and_creates_nothing(system, notify_app, admin):
    code = department()  # never added to the directory
    resp = await system.http.put(
        f"{system.notify_url}/v1/endpoints/{code}",
        json={"url": "http://127.0.0.1:9/hook", "secret": new_secret()},
        headers=admin,
    )
    assert resp.status_code == 404 and resp.headers["content-type"].startswith("application/problem+json")
    assert (await system.http.get(f"{system.notify_url}/v1/endpoints/{code}", headers=admin)).status_code == 404


async def test_setting_the_endpoint_again_brings_its_failed_deliveries_forward(system, notify_app, admin, manual_clock):
    code, secret = department(), new_secret()
    answers = iter([410])  # the department system answers its very first request with 410 Gone, then 200

    async with Receiver(lambda req, n: next(answers, 200)) as receiver:
        assert (await put_endpoint(system, admin, code, receiver.url(), secret)).status_code == 200
        gone = await insert_delivery(notify_app.state.db, target=code)
        await run_worker(notify_app)  # 410: the endpoint is disabled
        waiting = await insert_delivery(notify_app.state.db, target=code)
        await run_worker(notify_app)
        failed = await fetch(notify_app.state.db, waiting["id"])
        assert failed.state == "failed" and failed.next_attempt_at > clock.now()

        assert (await put_endpoint(system, admin, code, receiver.url(), None)).json()["state"] == "active"
        assert (await fetch(notify_app.state.db, waiting["id"])).next_attempt_at == clock.now()
        await run_worker(notify_app)  # the clock has not moved: only the re-enabling made it due
        assert (await fetch(notify_app.state.db, waiting["id"])).state == "delivered"
        assert (await fetch(notify_app.state.db, gone["id"])).state == "dead"
