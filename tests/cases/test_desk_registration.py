"""The centre's desk (来访 · 来电 · 来信 · 12345 · 网上): a dispatcher registers a case that is graded, tiered
and clocked like a phone's report; Idempotency-Key makes a retry the same case; the 12345 work-order
number is kept and searchable; a phone-channel case's reply reaches the caller by SMS through notify."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta

from services.cases.vocabulary import CHANNEL_ZH
from tests.cases.desk import desk_body, register, registered, to_reply
from tests.intake.factories import GRID_W101, phone
from tests.notify.fakes import Receiver
from tests.notify.helpers import messages, run_worker
from tests.support import scalar

PROBLEM = "application/problem+json"


async def count_cases(system, title: str) -> int:
    return await scalar(system.cases_app.state.db, "SELECT count(*) FROM cases.cases WHERE title = :t", t=title)


async def test_a_phone_call_is_graded_tiered_and_clocked_like_a_phone_report(system):
    body = desk_body(title=f"来电 {uuid.uuid4().hex[:8]}")
    resp = await register(system, body)
    assert resp.status_code == 201, resp.text
    c = resp.json()
    assert (c["state"], c["channel"], c["area"], c["kind"], c["category"]) == (
        "received",
        "phone",
        body["area"],
        "dispute",
        "neighbour",
    )
    assert c["grade"]["level"] == "ordinary" and c["grade"]["by"] == "rules" and c["tier"] == "village"
    assert c["registered_by"] == "dispatcher:d001" and c["reports"] == []
    contact = next(d for d in c["deadlines"] if d["kind"] == "contact")
    started = datetime.fromisoformat(contact["started_at"])
    assert contact["state"] == "pending"
    assert datetime.fromisoformat(contact["due_at"]) - started == timedelta(hours=1)
    assert c["timeline"][0]["actor"] == "dispatcher:d001" and c["timeline"][0]["note"].startswith(CHANNEL_ZH["phone"])
    applicant = c["parties"][0]
    assert "*" in applicant["id_number"] and "*" in applicant["phone"]  # masked in the answer
    assert body["parties"][0]["id_number"] not in resp.text and body["parties"][0]["phone"] not in resp.text
    # a major matter (group gathering) is major and tells the county at once, as from a phone
    major = await registered(system, channel="visit", flags=["group_gathering"], people_involved=15)
    assert major["grade"]["level"] == "major" and major["tier"] == "township"
    assert {d["kind"] for d in major["deadlines"]} >= {"contact", "major_report"}


async def test_a_retry_with_the_same_key_is_the_same_case_and_another_body_is_refused(system):
    key = str(uuid.uuid4())
    body = desk_body(title=f"重试 {uuid.uuid4().hex[:8]}")
    first = await register(system, body, key=key)
    again = await register(system, body, key=key)
    assert first.status_code == again.status_code == 201, (first.text, again.text)
    assert first.json()["id"] == again.json()["id"] and first.json()["number"] == again.json()["number"]
    assert await count_cases(system, body["title"]) == 1
    other = await register(system, {**body, "description": "另一件事"}, key=key)
    assert other.status_code == 422 and other.headers["content-type"].startswith(PROBLEM)
    assert other.json()["code"] == "idempotency_key_reused"
    assert await count_cases(system, body["title"]) == 1
    # two retries at once (a double tap, a proxy's resend): still one case
    key2, body2 = str(uuid.uuid4()), desk_body(title=f"并发 {uuid.uuid4().hex[:8]}")
    both = await asyncio.gather(*(register(system, body2, key=key2) for _ in range(3)))
    assert {r.status_code for r in both} == {201} and len({r.json()["id"] for r in both}) == 1
    assert await count_cases(system, body2["title"]) == 1
    # the key is the dispatcher's own: another dispatcher's same key is another request
    elsewhere = await register(system, {**body, "area": GRID_W101}, user="d101", key=key)
    assert elsewhere.status_code == 201 and elsewhere.json()["id"] != first.json()["id"]


async def test_bad_input_is_a_problem_naming_the_field_and_stores_nothing(system):
    title = f"无效 {uuid.uuid4().hex[:8]}"
    cases = [
        ({"channel": "hotline_12345"}, ["body", "external_ref"]),
        ({"channel": "fax"}, ["body", "channel"]),
        ({"area": GRID_W101}, ["body", "area"]),  # 三岔河: not d001's
        ({"area": "999999999999"}, ["body", "area"]),
        ({"category": "nonsense"}, ["body", "category"]),
        ({"flags": ["aliens"]}, ["body", "flags"]),
        ({"occurred_at": "2026-11-30T10:00:00"}, ["body", "occurred_at"]),
        ({"parties": [{"name": "陈某", "id_number": "620602199001011234"}]}, ["body", "parties", 0, "id_number"]),
        ({"parties": [{"name": "陈某", "phone": "12345"}]}, ["body", "parties", 0, "phone"]),
        ({"title": ""}, ["body", "title"]),
    ]
    for over, loc in cases:
        resp = await register(system, desk_body(title=title) | over)
        assert resp.status_code == 422, (over, resp.text)
        assert resp.headers["content-type"].startswith(PROBLEM)
        assert loc in [e["loc"] for e in resp.json()["errors"]], (over, resp.json())
    assert await count_cases(system, title) == 0
    # leaders read, grid workers push from phones: neither registers at the desk
    for user, device in (("l001", None), ("w001", "dev-w001")):
        resp = await system.http.post(
            f"{system.cases_url}/v1/cases", json=desk_body(title=title), headers=await system.auth(user, device)
        )
        assert resp.status_code == 404, resp.text
    assert await count_cases(system, title) == 0


async def channel_count(system, channel: str) -> int:
    resp = await system.http.get(f"{system.cases_url}/v1/stats/overview", headers=await system.auth("d001"))
    assert resp.status_code == 200, resp.text
    return resp.json()["cases"]["by_channel"].get(channel, 0)


async def test_the_12345_work_order_number_is_kept_shown_and_searchable(system):
    ref = f"GD{uuid.uuid4().hex[:10].upper()}"
    before = await channel_count(system, "hotline_12345")
    c = await registered(system, channel="hotline_12345", external_ref=ref, kind="request", category=None)
    assert await channel_count(system, "hotline_12345") == before + 1  # the channel is counted
    assert c["external_ref"] == ref and c["channel"] == "hotline_12345"
    assert ref in c["timeline"][0]["note"]
    for params in ({"external_ref": ref}, {"q": ref}):
        page = (
            await system.http.get(f"{system.cases_url}/v1/cases", params=params, headers=await system.auth("d001"))
        ).json()
        assert [(i["id"], i["external_ref"], i["channel"]) for i in page["items"]] == [(c["id"], ref, "hotline_12345")]
    # out of scope, the work order is not found
    page = (
        await system.http.get(
            f"{system.cases_url}/v1/cases", params={"external_ref": ref}, headers=await system.auth("d101")
        )
    ).json()
    assert page["items"] == []


async def test_a_phone_channel_reply_reaches_the_caller_by_sms_and_a_visit_one_does_not(system):
    caller = phone()
    c = await registered(
        system, parties=[{"name": "陈某", "phone": caller, "role": "applicant"}, {"name": "刘某", "role": "respondent"}]
    )
    replied = await to_reply(system, c["id"], "经调解，邻居已清理通道杂物")
    assert replied["state"] == "replied"
    assert {d["kind"]: d["state"] for d in replied["deadlines"]}["reply"] == "met"  # the 1-day reply clock
    visitor = phone()
    v = await registered(
        system,
        channel="visit",
        parties=[{"name": "黄某", "phone": visitor, "role": "applicant"}, {"name": "刘某", "role": "respondent"}],
    )
    await to_reply(system, v["id"], "来访事项已处理")
    await system.drain()
    notify_app = system.services["notify"].app
    async with Receiver() as gateway:  # the SMS gateway, over real HTTP
        await run_worker(notify_app, sms_gateway_url=gateway.url("/sms"), sms_quiet_hours="")
        got = [r.json() for r in gateway.received if r.json().get("to") in (caller, visitor)]
    assert got == [
        {"to": caller, "text": f"【综治中心】您来电反映的事项（{c['number']}）已答复：经调解，邻居已清理通道杂物"}
    ]
    sms = [m for m in await messages(system, c["id"]) if m.channel == "sms"]
    assert [(m.rule, m.state) for m in sms] == [("case_reply_to_applicant", "delivered")]
    assert sms[0].recipient.startswith("applicant:") and caller not in sms[0].recipient
    assert not [m for m in await messages(system, v["id"]) if m.channel == "sms"]


async def test_a_12345_work_order_registered_again_is_409_naming_the_case_it_already_is(system):
    ref = f"GD{uuid.uuid4().hex[:10].upper()}"
    first = await registered(system, channel="hotline_12345", external_ref=ref, kind="request", category=None)
    body = desk_body(channel="hotline_12345", external_ref=ref, kind="request", category=None, title="再次转办")
    again = await register(system, body, key=str(uuid.uuid4()))  # another key: not a retry of the first
    assert again.status_code == 409, again.text
    problem = again.json()
    assert problem["code"] == "work_order_registered" and problem["case_number"] == first["number"]
    assert problem["errors"][0]["loc"] == ["body", "external_ref"]
    # another township's dispatcher is told it is registered, not which case it is
    elsewhere = await register(system, {**body, "area": GRID_W101}, user="d101")
    assert elsewhere.status_code == 409 and elsewhere.json().get("case_number") is None
    assert first["number"] not in elsewhere.text
    # two registrations of a new work order at once make one case
    ref2 = f"GD{uuid.uuid4().hex[:10].upper()}"
    both = await asyncio.gather(
        *(
            register(system, desk_body(channel="hotline_12345", external_ref=ref2, kind="request", category=None))
            for _ in range(3)
        )
    )
    assert sorted(r.status_code for r in both) == [201, 409, 409]
