"""Sign-in hardening: the real client address behind trusted proxies, password spraying across accounts,
no refresh grace for a replay that names no device, and the throttle's rows pruned."""

from __future__ import annotations

from datetime import timedelta

import httpx

from services.cases.context import CasesContext
from services.cases.identity.jobs import prune_login_failures
from shared.clock import clock
from shared.context import context_of
from tests.cases.factories import forget_address_failures, forget_sign_in_failures, sign_in_failure_at
from tests.support import DEMO_PASSWORD, manual_clock, scalar

TOKEN = "/v1/auth/token"


def guess(username: str, password: str = "guess-123") -> dict[str, str]:
    return {"grant_type": "password", "username": username, "password": password}


async def test_behind_a_trusted_proxy_the_throttle_keys_on_the_forwarded_client_address(system):
    settings = system.settings["cases"]
    settings.trusted_proxies = ["127.0.0.1/32"]  # the test client plays the proxy
    url = f"{system.cases_url}{TOKEN}"
    try:
        with manual_clock():
            await _proxied_guesses(system, url, settings.login_free_failures)
    finally:
        settings.trusted_proxies = []
        await forget_sign_in_failures(system, "d101")
        await forget_sign_in_failures(system, "d001")


async def _proxied_guesses(system, url: str, free: int) -> None:
    """Guesses through the proxy from one client, then the real user through it from another."""
    for _ in range(free + 1):
        resp = await system.http.post(url, data=guess("d101"), headers={"X-Forwarded-For": "203.0.113.7"})
    assert resp.status_code == 429
    # the same account from another client behind the same proxy is not locked out
    real = await system.http.post(
        url, data=guess("d101", DEMO_PASSWORD), headers={"X-Forwarded-For": "198.51.100.20, 127.0.0.1"}
    )
    assert real.status_code == 200, real.text
    # a peer that is no trusted proxy cannot dodge the throttle by writing X-Forwarded-For itself
    async with httpx.AsyncClient(transport=httpx.AsyncHTTPTransport(local_address="127.0.0.4")) as direct:
        answers = [
            await direct.post(url, data=guess("d001"), headers={"X-Forwarded-For": f"192.0.2.{i}"})
            for i in range(free + 1)
        ]
    assert answers[-1].status_code == 429


async def test_password_spraying_from_one_address_is_slowed_across_accounts(system):
    issuer = context_of(system.cases_app, CasesContext).issuer
    saved, issuer.address_free_failures = issuer.address_free_failures, 3
    url = f"{system.cases_url}{TOKEN}"
    try:
        with manual_clock():
            async with httpx.AsyncClient(transport=httpx.AsyncHTTPTransport(local_address="127.0.0.3")) as sprayer:
                first = [(await sprayer.post(url, data=guess(u))).status_code for u in ("admin", "w001")]
                # a success from the address takes its own attempt back (an office behind one NAT)
                ok = await sprayer.post(url, data=guess("l001", DEMO_PASSWORD))
                third = await sprayer.post(url, data=guess("s001"))
                sprayed = await sprayer.post(url, data=guess("nobody-at-all"))
            assert first == [400, 400] and ok.status_code == 200 and third.status_code == 400
            assert sprayed.status_code == 429 and int(sprayed.headers["retry-after"]) >= 1
            # each account saw one guess only, and other addresses are not slowed
            async with httpx.AsyncClient(transport=httpx.AsyncHTTPTransport(local_address="127.0.0.5")) as other:
                assert (await other.post(url, data=guess("admin", DEMO_PASSWORD))).status_code == 200
    finally:
        issuer.address_free_failures = saved
        await forget_address_failures(system, "127.0.0.3")
        await forget_address_failures(system, "127.0.0.5")
        for user in ("admin", "w001", "l001", "s001", "nobody-at-all"):
            await forget_sign_in_failures(system, user)


async def test_a_refresh_replay_inside_the_grace_window_without_device_id_gets_no_fresh_pair(system):
    url = f"{system.cases_url}{TOKEN}"
    first = (await system.http.post(url, data={**guess("w002", DEMO_PASSWORD), "device_id": "phone-replay"})).json()
    rotated = await system.http.post(url, data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]})
    assert rotated.status_code == 200
    replay = await system.http.post(url, data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]})
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    # treated as theft: the family is over, the successor too
    successor = await system.http.post(
        url, data={"grant_type": "refresh_token", "refresh_token": rotated.json()["refresh_token"]}
    )
    assert successor.status_code == 400


async def test_sign_in_throttle_rows_are_pruned_after_the_retention(system):
    retention = system.settings["cases"].login_failure_retention_hours
    now = clock.now()
    await sign_in_failure_at(system, "user:old-streak@192.0.2.1", now - timedelta(hours=retention + 1))
    await sign_in_failure_at(system, "user:recent-streak@192.0.2.1", now - timedelta(hours=retention - 1))
    db = system.cases_app.state.db
    assert await prune_login_failures(db, retention) >= 1
    count = "SELECT count(*) FROM cases.login_failures WHERE principal = :p"
    assert await scalar(db, count, p="user:old-streak@192.0.2.1") == 0
    assert await scalar(db, count, p="user:recent-streak@192.0.2.1") == 1
    await forget_sign_in_failures(system, "recent-streak")
    from services.cases.main import _ticks

    assert "prune_login_failures" in {t.name for t in _ticks(system.cases_app)}
