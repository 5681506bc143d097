"""The /internal calls: each service presents its own credential, the credential is checked before a
large body is read, an endpoint meant for one caller refuses the others, and the pull-cursor key is a
secret of its own."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
from sqlalchemy import text

from services.intake.context import IntakeContext
from shared.context import context_of
from tests.support import SERVICE_TOKENS

CHUNK = 1024 * 1024


def _directory_event() -> dict[str, Any]:
    """An event as a relay posts it (an empty directory.changed: applying it changes nothing)."""
    return {
        "id": str(uuid.uuid4()),
        "type": "directory.changed",
        "aggregate_id": "directory",
        "occurred_at": "2026-01-01T00:00:00+00:00",
        "payload": {},
    }


async def test_a_wrong_service_token_is_refused_before_a_large_body_is_read(system):
    read = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal read
        for _ in range(30):  # 30 MiB: under the internal limit, so only the credential can stop it
            read += CHUNK
            yield b"x" * CHUNK

    transport = httpx.ASGITransport(app=system.cases_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://cases") as client:
        started = time.monotonic()
        resp = await client.post(
            "/internal/v1/events",
            content=body(),
            headers={"Authorization": "Bearer not-a-service-token", "Content-Type": "application/json"},
        )
    assert resp.status_code == 401, resp.text
    assert resp.headers["www-authenticate"].startswith("Bearer")
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert read <= CHUNK, f"{read} bytes were read before the credential was refused"
    assert time.monotonic() - started < 5


async def test_each_service_has_its_own_credential_and_one_callers_endpoint_refuses_the_others(system):
    digest = f"{system.cases_url}/internal/v1/digest"
    access = f"{system.cases_url}/internal/v1/case-access"
    query = {"report_ids": [str(uuid.uuid4())], "role": "dispatcher", "areas": ["620602107"]}

    def bearer(service: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {SERVICE_TOKENS[service]}"}

    assert len(set(SERVICE_TOKENS.values())) == 3
    assert {name: s.service_token for name, s in system.settings.items()} == SERVICE_TOKENS
    assert (await system.http.get(digest, headers=bearer("notify"))).status_code == 200
    refused = await system.http.get(digest, headers=bearer("intake"))
    assert refused.status_code == 401 and refused.headers["www-authenticate"]
    assert (await system.http.post(access, json=query, headers=bearer("notify"))).status_code == 401
    allowed = await system.http.post(access, json=query, headers=bearer("intake"))
    assert allowed.status_code in (200, 422), allowed.text  # past the credential: the query's own checks
    # the old single shared token is nobody's
    assert (await system.http.get(digest, headers={"Authorization": "Bearer test-service-token"})).status_code == 401


async def test_the_pull_cursor_key_is_a_secret_of_its_own(system):
    hdrs = await system.auth("w001", "dev-cursor-key")
    pull = f"{system.intake_url}/v1/sync/pull"
    snapshot = await system.http.get(pull, headers=hdrs)
    assert snapshot.status_code == 200, snapshot.text
    cursor = snapshot.json()["cursor"]
    settings = context_of(system.intake_app, IntakeContext).settings
    token, key = settings.service_token, settings.pull_cursor_key
    assert key and key != token
    try:
        settings.service_token = "a-rotated-service-token"  # rotating the service credential ...
        assert (await system.http.get(pull, params={"cursor": cursor}, headers=hdrs)).status_code == 200
        settings.pull_cursor_key = "a-rotated-cursor-key"  # ... leaves the phones' cursors alone; this does not
        assert (await system.http.get(pull, params={"cursor": cursor}, headers=hdrs)).status_code == 410
    finally:
        settings.service_token, settings.pull_cursor_key = token, key


async def test_only_a_consumers_producers_may_post_events_and_each_under_its_own_name(system):
    """cases hears intake, notify hears cases: another service's valid credential is 401, and a producer
    posting under another's name is 403 — in either case nothing is applied."""
    event = _directory_event()

    def bearer(service: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {SERVICE_TOKENS[service]}"}

    notify_events = f"{system.notify_url}/internal/v1/events"
    not_a_producer = await system.http.post(
        notify_events, json={"source": "intake", "events": [event]}, headers=bearer("intake")
    )
    assert not_a_producer.status_code == 401, not_a_producer.text
    posing = await system.http.post(
        f"{system.cases_url}/internal/v1/events", json={"source": "notify", "events": [event]}, headers=bearer("intake")
    )
    assert posing.status_code == 403 and posing.json()["code"] == "source_mismatch"
    for db in (system.services["notify"].app.state.db, system.cases_app.state.db):
        async with db.unit_of_work() as s:
            schema = "notify" if db is system.services["notify"].app.state.db else "cases"
            seen = (
                await s.execute(text(f"SELECT count(*) FROM {schema}.inbox WHERE event_id = :e"), {"e": event["id"]})
            ).scalar()
        assert seen == 0
    allowed = await system.http.post(notify_events, json={"source": "cases", "events": []}, headers=bearer("cases"))
    assert allowed.status_code == 200, allowed.text


async def test_a_malformed_event_batch_is_refused_whole_with_the_field_at_fault(system):
    """The event endpoint parses its body with orjson: broken JSON and a bad event are 422 problem+json
    naming what is wrong, and nothing of the batch is applied."""
    url = f"{system.cases_url}/internal/v1/events"
    headers = {"Authorization": f"Bearer {SERVICE_TOKENS['intake']}", "Content-Type": "application/json"}
    good = _directory_event()
    broken = await system.http.post(url, content=b'{"source": "intake", "events": [', headers=headers)
    assert broken.status_code == 422 and broken.headers["content-type"].startswith("application/problem+json")
    bad = {**good, "id": str(uuid.uuid4()), "occurred_at": "not a time"}
    refused = await system.http.post(url, json={"source": "intake", "events": [good, bad]}, headers=headers)
    assert refused.status_code == 422, refused.text
    assert "occurred_at" in refused.text
    async with system.cases_app.state.db.unit_of_work() as s:
        seen = (
            await s.execute(
                text("SELECT count(*) FROM cases.inbox WHERE event_id = ANY(:e)"),
                {"e": [uuid.UUID(good["id"]), uuid.UUID(bad["id"])]},
            )
        ).scalar()
    assert seen == 0
