"""Sign-in, tokens, refresh rotation, throttling, JWKS, device revocation."""

from __future__ import annotations

import asyncio
import base64
import uuid

import httpx
import jwt
from sqlalchemy import text

from shared.clock import ManualClock, clock
from tests.cases.factories import forget_sign_in_failures
from tests.intake.factories import report
from tests.support import manual_clock

TOKEN = "/v1/auth/token"


async def token(system, **body):
    return await system.http.post(f"{system.cases_url}{TOKEN}", data=body)


async def test_grid_worker_signs_in_with_device_and_token_verifies_with_jwks(system):
    resp = await token(system, grant_type="password", username="w001", password="demo-pass-1", device_id="phone-a")
    assert resp.status_code == 200
    body = resp.json()
    assert body["token_type"] == "bearer" and body["expires_in"] <= 900 and body["refresh_token"]
    jwks = (await system.http.get(f"{system.cases_url}/.well-known/jwks.json")).json()
    assert jwt.get_unverified_header(body["access_token"])["alg"] == "ES256"  # ES256 by default
    key = jwt.PyJWK(jwks["keys"][0]).key
    claims = jwt.decode(
        body["access_token"], key=key, algorithms=["ES256"], issuer=system.cases_url, audience="fengqiao"
    )
    assert claims["role"] == "grid_worker" and claims["device_id"] == "phone-a"
    assert claims["areas"] == ["620602107201-01"]


async def test_json_body_is_accepted_too(system):
    resp = await system.http.post(
        f"{system.cases_url}{TOKEN}", json={"grant_type": "password", "username": "d001", "password": "demo-pass-1"}
    )
    assert resp.status_code == 200


async def test_grid_worker_without_device_is_refused(system):
    resp = await token(system, grant_type="password", username="w001", password="demo-pass-1")
    assert resp.status_code == 400 and resp.json()["error"] == "invalid_request"
    assert resp.json()["errors"][0]["loc"] == ["body", "device_id"]


async def test_wrong_password_is_400_invalid_grant_and_repeats_slow_down(system):
    with manual_clock():  # the waits are 1, 2, 4 … s: a slow machine must not outlast them between attempts
        for _ in range(5):
            resp = await token(system, grant_type="password", username="l001", password="wrong-password")
            assert resp.status_code == 400
            assert resp.json()["error"] == "invalid_grant" and resp.json()["error_description"].isascii()
            assert resp.headers["content-type"].startswith("application/problem+json")
        throttled = await token(system, grant_type="password", username="l001", password="demo-pass-1")
        assert throttled.status_code == 429 and int(throttled.headers["retry-after"]) >= 1
    await forget_sign_in_failures(system, "l001")
    assert (await token(system, grant_type="password", username="l001", password="demo-pass-1")).status_code == 200


async def test_unknown_user_gets_the_same_400(system):
    resp = await token(system, grant_type="password", username="nobody", password="whatever-1")
    assert resp.status_code == 400


async def test_client_credentials_for_department_system(system):
    resp = await token(system, grant_type="client_credentials", client_id="ps-dl", client_secret="ps-dl-secret")
    assert resp.status_code == 200 and "refresh_token" not in {k for k, v in resp.json().items() if v}
    bad = await token(system, grant_type="client_credentials", client_id="ps-dl", client_secret="nope-nope")
    assert bad.status_code == 401 and bad.json()["error"] == "invalid_client"
    assert bad.headers["www-authenticate"].startswith("Basic")


async def test_refresh_tokens_rotate_and_reuse_ends_the_family(system):
    first = (
        await token(system, grant_type="password", username="w002", password="demo-pass-1", device_id="phone-r")
    ).json()
    second = await token(system, grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert second.status_code == 200
    rotated = second.json()["refresh_token"]
    assert rotated != first["refresh_token"]
    third = await token(system, grant_type="refresh_token", refresh_token=rotated)  # the phone moved on
    assert third.status_code == 200
    # The old one comes back (stolen?): refused, and the whole family dies.
    assert (await token(system, grant_type="refresh_token", refresh_token=first["refresh_token"])).status_code == 400
    assert (
        await token(system, grant_type="refresh_token", refresh_token=third.json()["refresh_token"])
    ).status_code == 400


async def test_revoked_device_loses_refresh_and_intake_refuses_its_pushes(system):
    device = f"lost-{uuid.uuid4().hex[:8]}"
    tok = (await token(system, grant_type="password", username="w001", password="demo-pass-1", device_id=device)).json()
    hdrs = {"Authorization": f"Bearer {tok['access_token']}"}
    push = f"{system.intake_url}/v1/sync/push"
    assert (await system.http.post(push, json={"device_id": device, "items": []}, headers=hdrs)).status_code == 200
    resp = await system.http.post(
        f"{system.cases_url}/v1/admin/devices/{device}/revoke", headers=await system.auth("admin")
    )
    assert resp.status_code == 200 and resp.json()["refresh_tokens_revoked"] == 1
    await system.drain()
    item = report()
    refused = await system.http.post(push, json={"device_id": device, "items": [item]}, headers=hdrs)
    assert refused.status_code == 403 and refused.json()["code"] == "device_revoked"
    async with system.intake_app.state.db.unit_of_work() as s:
        assert (
            await s.execute(text("SELECT count(*) FROM intake.reports WHERE id = :i"), {"i": uuid.UUID(item["id"])})
        ).scalar() == 0
    assert (await token(system, grant_type="refresh_token", refresh_token=tok["refresh_token"])).status_code == 400
    again = await token(system, grant_type="password", username="w001", password="demo-pass-1", device_id=device)
    assert again.status_code == 400


async def test_only_admin_revokes_devices_and_unknown_device_is_404(system):
    assert (
        await system.http.post(f"{system.cases_url}/v1/admin/devices/x/revoke", headers=await system.auth("d001"))
    ).status_code == 404
    assert (
        await system.http.post(
            f"{system.cases_url}/v1/admin/devices/never-seen/revoke", headers=await system.auth("admin")
        )
    ).status_code == 404


async def test_tampered_or_missing_token_is_401(system):
    good = await system.token("d001")
    head, payload, sig = good.split(".")
    bad = f"{head}.{payload}.{sig[:-4]}AAAA"
    for hdr in ({}, {"Authorization": "Bearer " + bad}, {"Authorization": "Basic abc"}):
        resp = await system.http.get(f"{system.cases_url}/v1/cases", headers=hdr)
        assert resp.status_code == 401
        resp = await system.http.get(f"{system.intake_url}/v1/sync/pull", headers=hdr)
        assert resp.status_code == 401


async def test_guesses_from_another_address_never_lock_the_real_user_out(system):
    async with httpx.AsyncClient(transport=httpx.AsyncHTTPTransport(local_address="127.0.0.2")) as attacker:
        for _ in range(8):
            resp = await attacker.post(
                f"{system.cases_url}{TOKEN}",
                data={"grant_type": "password", "username": "d101", "password": "guess-123"},
            )
            assert resp.status_code in (400, 429)
        assert resp.status_code == 429
    real = await token(system, grant_type="password", username="d101", password="demo-pass-1")  # from 127.0.0.1
    assert real.status_code == 200
    await forget_sign_in_failures(system, "d101")


async def test_a_burst_of_parallel_guesses_is_counted_one_by_one(system):
    free = system.settings["cases"].login_free_failures
    answers = await asyncio.gather(
        *[token(system, grant_type="password", username="l001", password=f"guess-{i}") for i in range(free + 6)]
    )
    codes = sorted(a.status_code for a in answers)
    assert codes == [400] * free + [429] * 6
    await forget_sign_in_failures(system, "l001")


async def test_the_wait_after_repeated_failures_grows_and_then_lets_the_user_in(system):
    free = system.settings["cases"].login_free_failures
    manual = ManualClock()
    clock.use(manual)
    try:
        for _ in range(free):
            assert (await token(system, grant_type="password", username="s001", password="wrong-1")).status_code == 400
        waits = []
        for _ in range(3):
            refused = await token(system, grant_type="password", username="s001", password="demo-pass-1")
            assert refused.status_code == 429
            waits.append(int(refused.headers["retry-after"]))
            manual.advance(seconds=waits[-1])
            assert (await token(system, grant_type="password", username="s001", password="wrong-1")).status_code == 400
        assert waits == [1, 2, 4]
        manual.advance(seconds=8)
        assert (await token(system, grant_type="password", username="s001", password="demo-pass-1")).status_code == 200
        assert (
            await token(system, grant_type="password", username="s001", password="wrong-1")
        ).status_code == 400  # streak ended
    finally:
        clock.reset()
        await forget_sign_in_failures(system, "s001")


async def test_a_lost_refresh_response_retried_by_the_same_device_keeps_the_worker_signed_in(system):
    first = (
        await token(system, grant_type="password", username="w002", password="demo-pass-1", device_id="phone-g")
    ).json()
    lost = await token(
        system, grant_type="refresh_token", refresh_token=first["refresh_token"]
    )  # the answer never arrives
    assert lost.status_code == 200
    retried = await token(system, grant_type="refresh_token", refresh_token=first["refresh_token"], device_id="phone-g")
    assert retried.status_code == 200, retried.text
    fresh = retried.json()["refresh_token"]
    assert (await token(system, grant_type="refresh_token", refresh_token=fresh)).status_code == 200  # the family lives
    # the successor the phone never saw is void
    assert (
        await token(system, grant_type="refresh_token", refresh_token=lost.json()["refresh_token"])
    ).status_code == 400


async def test_a_rotated_refresh_token_back_after_the_grace_window_ends_the_family(system):
    manual = ManualClock()
    clock.use(manual)
    try:
        first = (
            await token(system, grant_type="password", username="w002", password="demo-pass-1", device_id="phone-h")
        ).json()
        second = await token(system, grant_type="refresh_token", refresh_token=first["refresh_token"])
        assert second.status_code == 200
        manual.advance(seconds=system.settings["cases"].refresh_reuse_grace_seconds + 1)
        assert (
            await token(system, grant_type="refresh_token", refresh_token=first["refresh_token"])
        ).status_code == 400
        assert (
            await token(system, grant_type="refresh_token", refresh_token=second.json()["refresh_token"])
        ).status_code == 400
    finally:
        clock.reset()


async def test_another_device_presenting_a_rotated_token_within_the_window_ends_the_family(system):
    first = (
        await token(system, grant_type="password", username="w002", password="demo-pass-1", device_id="phone-i")
    ).json()
    second = await token(system, grant_type="refresh_token", refresh_token=first["refresh_token"])
    stolen = await token(
        system, grant_type="refresh_token", refresh_token=first["refresh_token"], device_id="thief-phone"
    )
    assert stolen.status_code == 400
    assert (
        await token(system, grant_type="refresh_token", refresh_token=second.json()["refresh_token"])
    ).status_code == 400


async def test_client_credentials_over_http_basic_and_token_answers_are_never_cached(system):
    basic = base64.b64encode(b"ps-dl:ps-dl-secret").decode()
    resp = await system.http.post(
        f"{system.cases_url}{TOKEN}",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert resp.status_code == 200, resp.text
    assert resp.headers["cache-control"] == "no-store" and resp.headers["pragma"] == "no-cache"
    wrong = base64.b64encode(b"ps-dl:not-the-secret").decode()
    bad = await system.http.post(
        f"{system.cases_url}{TOKEN}",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {wrong}"},
    )
    assert bad.status_code == 401
    password = await token(system, grant_type="password", username="d001", password="demo-pass-1")
    assert password.headers["cache-control"] == "no-store" and password.headers["pragma"] == "no-cache"
