"""SMS through the generic gateway adapter (a real HTTP server here) or the logging provider; the daily
cap per recipient; quiet hours that hold a non-major message until morning."""

from __future__ import annotations

import logging
import random
from datetime import datetime, timedelta

from sqlalchemy import text

from shared.clock import CHINA_TZ, clock
from tests.notify.factories import insert_delivery
from tests.notify.fakes import Receiver
from tests.notify.helpers import fetch, notify_context, run_worker

AWAKE = {"sms_quiet_hours": ""}  # these tests must not depend on the hour they run at


def to(gateway: Receiver, phone: str) -> list[dict]:
    """What the gateway got for this phone (other tests' leftover SMS rows may reach it too)."""
    return [r.json() for r in gateway.received if r.json().get("to") == phone]


def a_phone() -> str:
    return "139" + "".join(random.choice("0123456789") for _ in range(8))


async def sms_row(app, phone: str, text_: str = "【综治中心】您有一条新的待办", major: bool = False):
    return await insert_delivery(
        app.state.db,
        target=notify_context(app).cipher.encrypt(phone),
        channel="sms",
        payload={"text": text_, "major": major},
        recipient="test:sms",
    )


async def test_the_gateway_adapter_posts_to_and_text_as_json(notify_app):
    phone = a_phone()
    async with Receiver() as gateway:
        row = await sms_row(notify_app, phone)
        await run_worker(notify_app, sms_gateway_url=gateway.url("/sms"), **AWAKE)
        assert to(gateway, phone) == [{"to": phone, "text": "【综治中心】您有一条新的待办"}]
        assert {r.path for r in gateway.received} == {"/sms"}
        assert (await fetch(notify_app.state.db, row["id"])).state == "delivered"


async def test_without_a_gateway_the_logging_provider_logs_only_the_masked_phone(notify_app, caplog):
    phone = a_phone()
    row = await sms_row(notify_app, phone)
    with caplog.at_level(logging.INFO, logger="notify.sms"):
        await run_worker(notify_app, sms_gateway_url=None, **AWAKE)
    assert (await fetch(notify_app.state.db, row["id"])).state == "delivered"
    logged = " ".join(r.getMessage() for r in caplog.records if r.name == "notify.sms")
    assert phone[:3] + "****" + phone[-4:] in logged and phone not in logged


async def test_a_failing_gateway_is_retried_per_schedule_and_does_not_use_up_the_cap(notify_app):
    phone = a_phone()
    async with Receiver(lambda req, n: 503) as gateway:
        row = await sms_row(notify_app, phone)
        await run_worker(notify_app, sms_gateway_url=gateway.url("/sms"), **AWAKE)
    r = await fetch(notify_app.state.db, row["id"])
    assert (r.state, r.attempts, r.last_status) == ("failed", 1, 503)
    assert "503" in r.last_error
    async with notify_app.state.db.unit_of_work() as session:
        sent = (
            await session.execute(
                text("SELECT sent FROM notify.sms_counters WHERE phone_hash = :h"),
                {"h": notify_context(notify_app).cipher.lookup_hash("phone", phone)},
            )
        ).scalar()
    assert sent == 0


async def test_over_the_daily_cap_an_sms_is_skipped_with_the_reason_not_dead(notify_app):
    phone = a_phone()
    async with Receiver() as gateway:
        rows = [await sms_row(notify_app, phone, f"第{i}条") for i in range(3)]
        await run_worker(notify_app, sms_gateway_url=gateway.url("/sms"), sms_daily_cap=2, **AWAKE)
        states = [await fetch(notify_app.state.db, r["id"]) for r in rows]
    assert sorted(s.state for s in states) == ["delivered", "delivered", "skipped"]
    capped = next(s for s in states if s.state == "skipped")
    assert "每日短信上限" in capped.last_error and capped.attempts == 0 and capped.next_attempt_at is None
    assert len(to(gateway, phone)) == 2
    async with notify_app.state.db.unit_of_work() as session:
        stored = (
            await session.execute(
                text("SELECT phone_hash FROM notify.sms_counters WHERE phone_hash = :h"),
                {"h": notify_context(notify_app).cipher.lookup_hash("phone", phone)},
            )
        ).scalar()
    assert stored and phone not in stored  # keyed by the hash, never the number


async def test_a_major_case_sms_is_sent_past_the_daily_cap_and_not_counted(notify_app):
    phone = a_phone()
    async with Receiver() as gateway:
        ordinary = [await sms_row(notify_app, phone, f"例行{i}") for i in range(2)]
        await run_worker(notify_app, sms_gateway_url=gateway.url("/sms"), sms_daily_cap=2, **AWAKE)
        assert [(await fetch(notify_app.state.db, r["id"])).state for r in ordinary] == ["delivered", "delivered"]
        major = await sms_row(notify_app, phone, "【十分钟报告】重大矛盾纠纷", major=True)
        await run_worker(notify_app, sms_gateway_url=gateway.url("/sms"), sms_daily_cap=2, **AWAKE)
        assert (await fetch(notify_app.state.db, major["id"])).state == "delivered"
        assert [m["text"] for m in to(gateway, phone)][-1] == "【十分钟报告】重大矛盾纠纷"
    async with notify_app.state.db.unit_of_work() as session:
        sent = (
            await session.execute(
                text("SELECT sent FROM notify.sms_counters WHERE phone_hash = :h"),
                {"h": notify_context(notify_app).cipher.lookup_hash("phone", phone)},
            )
        ).scalar()
    assert sent == 2  # the major one was not counted against the cap


async def test_quiet_hours_hold_a_non_major_sms_until_morning_but_not_a_major_one(notify_app, manual_clock):
    today = clock.now().astimezone(CHINA_TZ).date()
    manual_clock.set(datetime(today.year, today.month, today.day, 23, 30, tzinfo=CHINA_TZ))
    phone = a_phone()
    async with Receiver() as gateway:
        ordinary = await sms_row(notify_app, phone, "例行提醒")
        major = await sms_row(notify_app, phone, "重大案件", major=True)
        await run_worker(notify_app, sms_gateway_url=gateway.url("/sms"), sms_quiet_hours="22:00-07:00")
        held = await fetch(notify_app.state.db, ordinary["id"])
        morning = datetime(today.year, today.month, today.day, 7, 0, tzinfo=CHINA_TZ) + timedelta(days=1)
        assert (held.state, held.attempts, held.last_error) == ("pending", 0, None)
        assert held.next_attempt_at == morning
        assert (await fetch(notify_app.state.db, major["id"])).state == "delivered"
        assert [m["text"] for m in to(gateway, phone)] == ["重大案件"]

        manual_clock.set(morning + timedelta(seconds=1))
        await run_worker(notify_app, sms_gateway_url=gateway.url("/sms"), sms_quiet_hours="22:00-07:00")
        assert (await fetch(notify_app.state.db, ordinary["id"])).state == "delivered"
        assert [m["text"] for m in to(gateway, phone)] == ["重大案件", "例行提醒"]
