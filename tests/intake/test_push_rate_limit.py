"""A runaway phone cannot starve the others: each device's pushes draw on a bucket of items
(PUSH_RATE_BURST_ITEMS refilled at PUSH_RATE_ITEMS_PER_MINUTE); past it the push is 429 with Retry-After and
stores nothing, while other devices and a normal morning sync pass."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from services.intake.config import IntakeSettings
from services.intake.context import IntakeContext
from shared.context import context_of
from tests.intake.factories import report
from tests.support import manual_clock, scalar


def batch(n: int, grid: str = "620602107201-01") -> list[dict]:
    """Patrol logs: stored and counted by intake like any report, with no case work behind them."""
    return [report(grid=grid, kind="patrol", title=f"巡查 {i}") for i in range(n)]


async def push(system, items, device, user="w001"):
    headers = await system.auth(user, device)
    return await system.http.post(
        f"{system.intake_url}/v1/sync/push", json={"device_id": device, "items": items}, headers=headers
    )


@contextmanager
def push_rate(system, burst: int, per_minute: int) -> Iterator[None]:
    settings = context_of(system.intake_app, IntakeContext).settings
    old = settings.push_rate_burst_items, settings.push_rate_items_per_minute
    settings.push_rate_burst_items, settings.push_rate_items_per_minute = burst, per_minute
    try:
        yield
    finally:
        settings.push_rate_burst_items, settings.push_rate_items_per_minute = old


async def stored(system, items) -> int:
    ids = [uuid.UUID(i["id"]) for i in items]
    return await scalar(system.intake_app.state.db, "SELECT count(*) FROM intake.reports WHERE id = ANY(:ids)", ids=ids)


async def test_a_morning_sync_after_days_offline_is_never_refused_by_the_default_limit(system):
    device = f"dev-w001-morning-{uuid.uuid4().hex[:6]}"
    await system.auth("w001", device)
    for _ in range(6):  # three weeks of reports at 20 a day, then some, pushed back to back
        resp = await push(system, batch(100), device)
        assert resp.status_code == 200, resp.text


async def test_a_device_over_its_allowance_gets_429_with_retry_after_stores_nothing_and_others_pass(system):
    device, other = f"dev-w001-runaway-{uuid.uuid4().hex[:6]}", f"dev-w002-{uuid.uuid4().hex[:6]}"
    await system.auth("w001", device)
    await system.auth("w002", other)
    with push_rate(system, burst=500, per_minute=60), manual_clock() as moved:
        assert (await push(system, batch(300), device)).status_code == 200
        refused_items = batch(300)  # 300 asked, 200 left in the bucket
        refused = await push(system, refused_items, device)
        assert refused.status_code == 429, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert refused.json()["code"] == "push_rate_exceeded"
        assert refused.headers["retry-after"] == "100"  # 100 items short at one item a second
        assert "秒后重试" in refused.json()["detail"]
        assert await stored(system, refused_items) == 0

        # another phone is not held back by the runaway one
        assert (await push(system, batch(400, "620602107202-01"), other, user="w002")).status_code == 200

        # the refusal took nothing from the bucket: the same push is exactly 100 s away
        moved.advance(seconds=99)
        assert (await push(system, refused_items, device)).status_code == 429
        moved.advance(seconds=1)
        again = await push(system, refused_items, device)
        assert again.status_code == 200, again.text
        assert [r["status"] for r in again.json()["results"]] == ["accepted"] * 300
        assert await stored(system, refused_items) == 300

        # empty: the bucket is at 0 now, and even an empty push costs one
        assert (await push(system, [], device)).status_code == 429
        moved.advance(seconds=1)
        assert (await push(system, [], device)).status_code == 200


async def test_the_limit_off_lets_any_rate_through(system):
    device = f"dev-w001-unlimited-{uuid.uuid4().hex[:6]}"
    await system.auth("w001", device)
    with push_rate(system, burst=0, per_minute=0), manual_clock():
        for _ in range(3):
            assert (await push(system, batch(500), device)).status_code == 200


@pytest.mark.parametrize(
    ("burst", "per_minute", "message"),
    [(100, 60, "at least PUSH_MAX_ITEMS"), (-1, 60, "must not be negative"), (600, -5, "must not be negative")],
)
def test_a_burst_that_a_full_push_could_never_pass_is_refused_at_startup(burst, per_minute, message):
    with pytest.raises(ValueError, match=message):
        IntakeSettings(push_rate_burst_items=burst, push_rate_items_per_minute=per_minute)
