"""Sign-in, tokens, refresh rotation, throttling, JWKS, device revocation."""
from __future__ import annotations

import uuid

import jwt
from sqlalchemy import text

from factories import report

TOKEN = "/v1/auth/token"


async def token(system, **body):
    return await system.http.post(f"{system.cases_url}{TOKEN}", data=body)


async def test_grid_worker_signs_in_with_device_and_token_verifies_with_jwks(system):
    resp = await token(system, grant_type="password", username="w001", password="demo-pass-1", device_id="phone-a")
    assert resp.status_code == 200
    body = resp.json()
    assert body["token_type"] == "bearer" and body["expires_in"] <= 900 and body["refresh_token"]
    jwks = (await system.http.get(f"{system.cases_url}/.well-known/jwks.json")).json()
    key = jwt.PyJWK(jwks["keys"][0]).key
    claims = jwt.decode(body["access_token"], key=key, algorithms=["EdDSA"], issuer="fengqiao-cases")
    assert claims["role"] == "grid_worker" and claims["device_id"] == "phone-a"
    assert claims["areas"] == ["620602107201-01"]


async def test_json_body_is_accepted_too(system):
    resp = await system.http.post(
        f"{system.cases_url}{TOKEN}", json={"grant_type": "password", "username": "d001", "password": "demo-pass-1"}
    )
    assert resp.status_code == 200


async def test_grid_worker_without_device_is_refused(system):
    resp = await token(system, grant_type="password", username="w001", password="demo-pass-1")
    assert resp.status_code == 422
    assert resp.json()["errors"][0]["loc"] == ["body", "device_id"]


async def test_wrong_password_is_401_with_www_authenticate_and_repeats_slow_down(system):
    for _ in range(5):
        resp = await token(system, grant_type="password", username="l001", password="wrong-password")
        assert resp.status_code == 401
        assert resp.headers["www-authenticate"].startswith("Bearer")
        assert resp.headers["content-type"].startswith("application/problem+json")
    throttled = await token(system, grant_type="password", username="l001", password="demo-pass-1")
    assert throttled.status_code == 429 and int(throttled.headers["retry-after"]) >= 1
    async with system.cases_app.state.db.unit_of_work() as s:
        await s.execute(text("DELETE FROM cases.login_failures WHERE principal = 'user:l001'"))
    assert (await token(system, grant_type="password", username="l001", password="demo-pass-1")).status_code == 200


async def test_unknown_user_gets_the_same_401(system):
    resp = await token(system, grant_type="password", username="nobody", password="whatever-1")
    assert resp.status_code == 401


async def test_client_credentials_for_department_system(system):
    resp = await token(system, grant_type="client_credentials", client_id="ps-dl", client_secret="ps-dl-secret")
    assert resp.status_code == 200 and "refresh_token" not in {k for k, v in resp.json().items() if v}
    bad = await token(system, grant_type="client_credentials", client_id="ps-dl", client_secret="nope-nope")
    assert bad.status_code == 401


async def test_refresh_tokens_rotate_and_reuse_ends_the_family(system):
    first = (await token(system, grant_type="password", username="w002", password="demo-pass-1", device_id="phone-r")).json()
    second = await token(system, grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert second.status_code == 200
    rotated = second.json()["refresh_token"]
    assert rotated != first["refresh_token"]
    # The old one comes back (stolen?): refused, and the whole family dies.
    assert (await token(system, grant_type="refresh_token", refresh_token=first["refresh_token"])).status_code == 401
    assert (await token(system, grant_type="refresh_token", refresh_token=rotated)).status_code == 401


async def test_revoked_device_loses_refresh_and_intake_refuses_its_pushes(system):
    device = f"lost-{uuid.uuid4().hex[:8]}"
    tok = (await token(system, grant_type="password", username="w001", password="demo-pass-1", device_id=device)).json()
    hdrs = {"Authorization": f"Bearer {tok['access_token']}"}
    push = f"{system.intake_url}/v1/sync/push"
    assert (await system.http.post(push, json={"device_id": device, "items": []}, headers=hdrs)).status_code == 200
    resp = await system.http.post(f"{system.cases_url}/v1/admin/devices/{device}/revoke", headers=await system.auth("admin"))
    assert resp.status_code == 200 and resp.json()["refresh_tokens_revoked"] == 1
    await system.drain()
    item = report()
    refused = await system.http.post(push, json={"device_id": device, "items": [item]}, headers=hdrs)
    assert refused.status_code == 403 and refused.json()["code"] == "device_revoked"
    async with system.intake_app.state.db.unit_of_work() as s:
        assert (await s.execute(text("SELECT count(*) FROM intake.reports WHERE id = :i"), {"i": uuid.UUID(item["id"])})).scalar() == 0
    assert (await token(system, grant_type="refresh_token", refresh_token=tok["refresh_token"])).status_code == 401
    again = await token(system, grant_type="password", username="w001", password="demo-pass-1", device_id=device)
    assert again.status_code == 401


async def test_only_admin_revokes_devices_and_unknown_device_is_404(system):
    assert (await system.http.post(f"{system.cases_url}/v1/admin/devices/x/revoke", headers=await system.auth("d001"))).status_code == 404
    assert (await system.http.post(f"{system.cases_url}/v1/admin/devices/never-seen/revoke", headers=await system.auth("admin"))).status_code == 404


async def test_tampered_or_missing_token_is_401(system):
    good = await system.token("d001")
    head, payload, sig = good.split(".")
    bad = f"{head}.{payload}.{sig[:-4]}AAAA"
    for hdr in ({}, {"Authorization": "Bearer " + bad}, {"Authorization": "Basic abc"}):
        resp = await system.http.get(f"{system.cases_url}/v1/cases", headers=hdr)
        assert resp.status_code == 401
        resp = await system.http.get(f"{system.intake_url}/v1/sync/pull", headers=hdr)
        assert resp.status_code == 401
