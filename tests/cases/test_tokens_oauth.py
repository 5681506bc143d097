"""Tokens as standard clients see them: a stock OAuth2 client (authlib) configured from the discovery
document, RFC 6749 error shapes, ES256 (EdDSA optional), `aud` and a small clock leeway, and a key
rotation that verifiers follow (new kid: refetch; removed key: dropped)."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.httpx_client import AsyncOAuth2Client
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import FastAPI

from services.cases.context import CasesContext
from services.cases.identity.keys import SigningKey
from shared.auth import KeySet, verify_token
from shared.context import context_of
from shared.errors import Unauthorized
from tests.support import DEMO_PASSWORD, Served, free_port

TOKEN = "/v1/auth/token"
AUDIENCE = "fengqiao"


async def discovery(system) -> dict[str, Any]:
    resp = await system.http.get(f"{system.cases_url}/.well-known/openid-configuration")
    assert resp.status_code == 200, resp.text
    return resp.json()


async def verify_with_jwks(system, doc: dict[str, Any], access_token: str) -> dict[str, Any]:
    """What a department system does: the JWKS from the discovery document, PyJWT to check."""
    jwks = jwt.PyJWKSet.from_dict((await system.http.get(doc["jwks_uri"])).json())
    kid = jwt.get_unverified_header(access_token)["kid"]
    key = next(k for k in jwks.keys if k.key_id == kid)
    return jwt.decode(
        access_token,
        key=key.key,
        algorithms=doc["id_token_signing_alg_values_supported"],
        issuer=doc["issuer"],
        audience=AUDIENCE,
    )


async def test_a_stock_oauth2_client_configures_itself_from_the_discovery_document(system):
    doc = await discovery(system)
    assert doc["issuer"] == system.cases_url
    assert {"password", "client_credentials", "refresh_token"} <= set(doc["grant_types_supported"])
    assert doc["id_token_signing_alg_values_supported"] == ["ES256"]

    async with AsyncOAuth2Client(
        client_id="ps-dl", client_secret="ps-dl-secret", token_endpoint_auth_method="client_secret_basic"
    ) as client:
        issued = await client.fetch_token(doc["token_endpoint"], grant_type="client_credentials")
    claims = await verify_with_jwks(system, doc, issued["access_token"])
    assert claims["role"] == "department_system" and claims["aud"] == AUDIENCE

    async with AsyncOAuth2Client(client_id="ps-dl", token_endpoint_auth_method="none") as person:
        issued = await person.fetch_token(doc["token_endpoint"], username="d001", password=DEMO_PASSWORD)
        assert issued["refresh_token"]
        refreshed = await person.refresh_token(doc["token_endpoint"], refresh_token=issued["refresh_token"])
    claims = await verify_with_jwks(system, doc, refreshed["access_token"])
    assert claims["preferred_username"] == "d001"

    async with AsyncOAuth2Client(client_id="ps-dl", client_secret="wrong-secret-1") as wrong:
        with pytest.raises(OAuthError) as refused:
            await wrong.fetch_token(doc["token_endpoint"], grant_type="client_credentials")
    assert refused.value.error == "invalid_client"
    async with AsyncOAuth2Client(client_id="ps-dl", token_endpoint_auth_method="none") as person:
        with pytest.raises(OAuthError) as refused:
            await person.fetch_token(doc["token_endpoint"], username="d001", password="wrong-password-1")
    assert refused.value.error == "invalid_grant"


async def test_token_endpoint_errors_have_rfc_6749_shapes(system):
    url = f"{system.cases_url}{TOKEN}"
    cases = [
        ({"data": {"grant_type": "authorization_code", "code": "x"}}, 400, "unsupported_grant_type"),
        ({"data": {"grant_type": "password", "username": "d001"}}, 400, "invalid_request"),
        ({"data": {"username": "d001"}}, 400, "invalid_request"),
        ({"content": b'{"grant_type": ', "headers": {"Content-Type": "application/json"}}, 400, "invalid_request"),
        ({"data": {"grant_type": "refresh_token", "refresh_token": "not-a-token"}}, 400, "invalid_grant"),
        (
            {"data": {"grant_type": "client_credentials", "client_id": "ps-dl", "client_secret": "x"}},
            401,
            "invalid_client",
        ),
    ]
    for kwargs, status, error in cases:
        resp = await system.http.post(url, **kwargs)
        body = resp.json()
        assert (resp.status_code, body.get("error")) == (status, error), (kwargs, resp.text)
        assert body["error_description"].isascii() and body["error_description"]
        assert {"type", "title", "status", "detail"} <= set(body) and body["status"] == status
        assert resp.headers["content-type"].startswith("application/problem+json")
        if status == 401:
            assert resp.headers["www-authenticate"].startswith("Basic")


def _claims(audience: str | None, expired_seconds_ago: int, issuer: str) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": issuer,
        "sub": "probe",
        "role": "dispatcher",
        "typ": "access",
        "iat": now - 900,
        "exp": now - expired_seconds_ago,
        "areas": ["620602107"],
    }
    if audience is not None:
        claims["aud"] = audience
    return claims


async def test_access_tokens_need_the_audience_and_get_a_small_clock_leeway(system):
    key = context_of(system.cases_app, CasesContext).signing_key
    url = f"{system.cases_url}/v1/cases"

    async def status(claims: dict[str, Any]) -> int:
        resp = await system.http.get(url, headers={"Authorization": f"Bearer {key.sign(claims)}"})
        return resp.status_code

    issuer = system.cases_url
    assert await status(_claims(AUDIENCE, -600, issuer)) == 200
    assert await status(_claims(AUDIENCE, 10, issuer)) == 200  # expired 10 s ago: within the leeway
    assert await status(_claims(AUDIENCE, 120, issuer)) == 401  # 2 minutes ago: expired
    assert await status(_claims(None, -600, issuer)) == 401  # no audience
    assert await status(_claims("another-system", -600, issuer)) == 401
    assert await status(_claims(AUDIENCE, -600, "https://somebody-else.example")) == 401


def _pem(path, key: ec.EllipticCurvePrivateKey) -> str:
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return str(path)


async def test_a_rotation_lists_the_old_and_the_new_key_and_signs_with_the_new(tmp_path):
    old = _pem(tmp_path / "old.pem", ec.generate_private_key(ec.SECP256R1()))
    old_key = SigningKey.load_or_create(old)
    new_key = SigningKey.load_or_create(str(tmp_path / "new.pem"), "ES256", [old])
    assert [k["kid"] for k in new_key.jwks()["keys"]] == [new_key.kid, old_key.kid]
    assert all(k["alg"] == "ES256" for k in new_key.jwks()["keys"])
    claims = _claims(AUDIENCE, -600, "iss-test")
    keys = new_key.keyset(issuer="iss-test", audience=AUDIENCE)
    assert jwt.get_unverified_header(new_key.sign(claims))["kid"] == new_key.kid
    assert (await verify_token(keys, old_key.sign(claims))).subject == "probe"  # issued before the rotation
    assert (await verify_token(keys, new_key.sign(claims))).subject == "probe"


async def test_eddsa_is_available_by_setting(tmp_path):
    key = SigningKey.load_or_create(str(tmp_path / "ed.pem"), "EdDSA")
    assert key.algorithm == "EdDSA" and key.public_jwk["kty"] == "OKP"
    claims = _claims(AUDIENCE, -600, "iss-test")
    token = key.sign(claims)
    assert jwt.get_unverified_header(token)["alg"] == "EdDSA"
    assert (await verify_token(key.keyset(issuer="iss-test", audience=AUDIENCE), token)).subject == "probe"


async def test_verifiers_refetch_the_jwks_for_a_new_kid_and_drop_removed_keys(tmp_path):
    a = SigningKey.load_or_create(str(tmp_path / "a.pem"))
    b = SigningKey.load_or_create(str(tmp_path / "b.pem"))
    served: dict[str, Any] = {"jwks": {"keys": [a.public_jwk]}, "hits": 0}
    app = FastAPI()

    @app.get("/.well-known/jwks.json")
    async def jwks() -> dict[str, Any]:
        served["hits"] += 1
        return served["jwks"]

    port = free_port()
    server = Served("jwks", lambda: app, port)
    await server.start()
    try:
        keys = KeySet(
            url=f"http://127.0.0.1:{port}/.well-known/jwks.json",
            issuer="iss-test",
            audience=AUDIENCE,
            max_age=3600,
            refetch_seconds=0,
        )
        claims = _claims(AUDIENCE, -600, "iss-test")
        assert (await verify_token(keys, a.sign(claims))).subject == "probe"
        served["jwks"] = {"keys": [b.public_jwk, a.public_jwk]}  # rotation: b signs, a still listed
        assert (await verify_token(keys, b.sign(claims))).subject == "probe"  # unknown kid: refetched
        assert served["hits"] == 2
        served["jwks"] = {"keys": [b.public_jwk]}  # a removed
        keys.max_age = 0  # the set is due for its periodic refetch
        with pytest.raises(Unauthorized):
            await verify_token(keys, a.sign(claims))
        assert set(keys.kids) == {b.kid}
        # unknown kids do not hammer the JWKS: at most one refetch per refetch_seconds
        keys.max_age, keys.refetch_seconds = 3600, 60
        hits = served["hits"]
        for _ in range(3):
            with pytest.raises(Unauthorized):
                await verify_token(keys, a.sign(claims))
        assert served["hits"] == hits
    finally:
        await server.stop()
