"""短期内难以解决: the centre records that a matter cannot be solved soon (a reason and an expected date) and
the reply clock starts then, not at resolution; an interim reply meets it and the case keeps being worked
on; the reporter's phone is told in Chinese. On a moved clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from tests.cases.factories import graded_case, whistle
from tests.cases.helpers import act, case, dept_token, manual_clock, run_sweep
from tests.notify.helpers import messages

CST = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 11, 23, 9, 0, tzinfo=CST)  # a Monday
DEFER = {"reason": "涉及土地确权，需等待县自然资源局重新勘界", "expected_by": "2027-01-15"}


def reply_clocks(c):
    return [d for d in c["deadlines"] if d["kind"] == "reply"]


async def test_deferring_starts_the_reply_clock_which_an_interim_reply_meets(system):
    with manual_clock(START.astimezone(UTC)) as clk:
        case_id = await graded_case(system)
        await whistle(system, case_id, lead="PS-DL", reason="请派出所处理")
        assert reply_clocks(await case(system, case_id)) == []
        r = await act(system, "d001", case_id, "defer", DEFER)
        assert r.status_code == 200, r.text
        c = r.json()
        assert c["state"] == "assigned"  # the work goes on
        assert c["deferral"]["reason"] == DEFER["reason"] and c["deferral"]["expected_by"] == "2027-01-15"
        (clock_,) = reply_clocks(c)
        assert clock_["state"] == "pending"
        assert datetime.fromisoformat(clock_["due_at"]) == START + timedelta(days=1)
        entry = c["timeline"][-1]
        assert entry["action"] == "defer" and entry["actor"] == "dispatcher:d001"
        assert "短期内难以解决" in entry["note"] and "2027年1月15日" in entry["note"]

        # half the limit gone: the reply clock warns once
        clk.advance(hours=12, minutes=1)
        await run_sweep(system)
        await run_sweep(system)
        c = await case(system, case_id, "admin")
        warned = [t for t in c["timeline"] if t["action"] == "deadline_warning" and "答复" in (t["note"] or "")]
        assert len(warned) == 1

        # deferring again while the reply is still owed starts no second clock
        again = await act(system, "d001", case_id, "defer", DEFER | {"expected_by": "2027-02-01"})
        assert again.status_code == 200 and len(reply_clocks(again.json())) == 1
        assert again.json()["deferral"]["expected_by"] == "2027-02-01"

        clk.advance(hours=2)
        r = await act(system, "d001", case_id, "reply", {"text": "已向当事人说明：需重新勘界，预计2月初答复结果"})
        assert r.status_code == 200, r.text
        c = r.json()
        assert c["state"] == "assigned" and c["reply"].startswith("已向当事人说明")
        (met,) = reply_clocks(c)
        assert met["state"] == "met" and met["met_at"] is not None
        assert not [d for d in c["deadlines"] if d["kind"] == "revisit"]  # no revisit for an interim reply

        # resolved later: a fresh reply clock from the resolution, then the usual reply and revisit
        clk.advance(days=3)
        done = await system.http.post(
            f"{system.cases_url}/v1/whistles/{c['whistles'][0]['id']}/ack", json={}, headers=await dept_token(system)
        )
        assert done.status_code == 200, done.text
        done = await system.http.post(
            f"{system.cases_url}/v1/whistles/{c['whistles'][0]['id']}/done",
            json={"note": "勘界完成"},
            headers=await dept_token(system),
        )
        assert done.status_code == 200, done.text
        r = await act(system, "d001", case_id, "resolve", {"outcome": "mediated"})
        assert r.status_code == 200, r.text
        clocks = reply_clocks(r.json())
        assert [d["state"] for d in clocks] == ["met", "pending"]
        r = await act(system, "d001", case_id, "reply", {"text": "调解成功"})
        assert r.status_code == 200 and r.json()["state"] == "replied"
        # the case's own clocks: the revisit now (a supervision notice's response clock, if the moved clock
        # brought one, is the unit's, not the case's)
        pending = [d["kind"] for d in r.json()["deadlines"] if d["state"] == "pending"]
        assert [k for k in pending if k != "notice_response"] == ["revisit"]

    await system.drain()
    told = [m for m in await messages(system, case_id) if m.rule == "case_defer_to_reporter"]
    assert told and told[0].channel == "phone" and "短期内难以解决" in told[0].body and DEFER["reason"] in told[0].body


async def test_an_expected_date_in_the_past_is_refused_and_nothing_is_recorded(system):
    with manual_clock(START.astimezone(UTC)):
        case_id = await graded_case(system)
        await whistle(system, case_id, lead="PS-DL", reason="请派出所处理")
        before = await case(system, case_id, "admin")
        r = await act(system, "d001", case_id, "defer", DEFER | {"expected_by": "2026-11-22"})
        assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "expected_by"]
        r = await act(system, "d001", case_id, "defer", {"reason": "无日期"})
        assert r.status_code == 422 and r.json()["errors"][0]["loc"][-1] == "expected_by"
        after = await case(system, case_id, "admin")
        assert after["timeline"] == before["timeline"] and reply_clocks(after) == [] and after["deferral"] is None


async def test_a_case_not_yet_being_worked_on_cannot_be_deferred(system):
    case_id = await graded_case(system)  # graded, not assigned
    r = await act(system, "d001", case_id, "defer", DEFER)
    assert r.status_code == 409 and "defer" not in r.json()["allowed_actions"]
    r = await act(system, "l001", case_id, "defer", DEFER)
    assert r.status_code in (403, 409)
