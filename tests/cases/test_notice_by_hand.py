"""领导督办: a supervision notice issued by hand (POST /v1/notices) by a leader or a higher centre's
dispatcher; numbered like the ladder's; its notice_response clock among the case's deadlines with its own
ladder (remind the unit → tell its head → tell the issuer's leader), met by the answer; ladder notices get
the same clock. Demo org: 大柳村 cases are 大柳镇's (d001); 小柳村 has its own centre (d202); PS-DL's head
is s001; the county centre is dc001 and the county leader l001."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from services.cases.deadline.policy import DEFAULT_POLICY_PATH, load_policy
from tests.cases.factories import graded_case, make_case, whistle
from tests.cases.helpers import act, case, cases_context, dept_token, manual_clock, policy, run_sweep
from tests.intake.factories import GRID_W002
from tests.notify.helpers import messages


async def issue(system: Any, user: str, body: dict[str, Any], **headers: str) -> Any:
    return await system.http.post(
        f"{system.cases_url}/v1/notices", json=body, headers={**await system.auth(user), **headers}
    )


def notice_clocks(c: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {d["notice_id"]: d for d in c["deadlines"] if d["kind"] == "notice_response"}


async def test_a_leader_issues_a_notice_by_hand_numbered_per_area_with_its_response_clock(system):
    case_id = await graded_case(system)
    with manual_clock() as clk:
        body = {"case_id": case_id, "unit": "PS-DL", "reason": "群众反映处置迟缓", "respond_within": "1d"}
        resp = await issue(system, "l001", body, **{"Idempotency-Key": f"n-{case_id}"})
        assert resp.status_code == 201, resp.text
        notice = resp.json()
        assert notice["number"].startswith("凉州区督〔") and notice["number"].endswith("号")
        assert (notice["unit"], notice["state"], notice["issued_by"]) == ("PS-DL", "issued", "leader:l001")
        c = await case(system, case_id)
        clock = notice_clocks(c)[notice["id"]]
        calendar = cases_context(system).domain.deadlines.calendar
        due = calendar.add(clk.now(), timedelta(days=1), "workday").at  # the policy's calendar: workdays
        assert clock["state"] == "pending" and datetime.fromisoformat(clock["due_at"]) == due
        assert datetime.fromisoformat(notice["respond_by"]) == due
        assert c["timeline"][-1]["action"] == "notice" and notice["number"] in c["timeline"][-1]["note"]
        # a retry with the same key is the same notice; the same key with another body is refused
        again = await issue(system, "l001", body, **{"Idempotency-Key": f"n-{case_id}"})
        assert again.status_code == 201 and again.json()["id"] == notice["id"]
        other = await issue(system, "l001", body | {"reason": "别的"}, **{"Idempotency-Key": f"n-{case_id}"})
        assert other.status_code == 422
        assert len((await case(system, case_id))["notices"]) == 1
        # hours count on the wall clock
        hourly = await issue(system, "dc001", body | {"respond_within": "4h"})
        assert hourly.status_code == 201, hourly.text
        assert hourly.json()["number"].startswith("凉州区督〔")
        hourly_clock = notice_clocks(await case(system, case_id))[hourly.json()["id"]]
        assert datetime.fromisoformat(hourly_clock["due_at"]) == clk.now() + timedelta(hours=4)
        # the unit answers in time: the clock is met
        ps = await dept_token(system)
        url = f"{system.cases_url}/v1/notices/{notice['id']}/answer"
        assert (await system.http.post(url, json={"answer": "已出警处置"}, headers=ps)).status_code == 200
        clock = notice_clocks(await case(system, case_id))[notice["id"]]
        assert clock["state"] == "met" and clock["met_by"] == "department_system:client:ps-dl"


async def test_who_may_issue_a_notice_by_hand(system):
    theirs = await graded_case(system)  # 大柳村: handled by 大柳镇 (d001)
    village = await graded_case(system, GRID_W002, user="d202")  # 小柳村's own centre handles it
    major, _ = await make_case(system, GRID_W002)  # major in 小柳村: the township's
    body = {"unit": "PS-DL", "reason": "请加快办理"}
    # a higher centre's dispatcher may; the township over the village's case numbers it as 大柳镇's
    ok = await issue(system, "d001", body | {"case_id": village, "unit": "620602107202"})
    assert ok.status_code == 201, ok.text
    assert ok.json()["number"].startswith("大柳镇督〔") and ok.json()["area"] == "620602107"
    # the handling centre itself is not a higher centre; a centre below it is not either (403: they see it)
    for user, case_id in (("d001", theirs), ("d202", major)):
        refused = await issue(system, user, body | {"case_id": case_id})
        assert refused.status_code == 403, refused.text
        assert refused.json()["code"] == "not_supervising_centre" and "承办" in refused.json()["detail"]
    # not in scope, or not a role that supervises: 404; a unit that is neither a department nor a centre
    # of the case: 422 naming the field; a response time of nothing: 422
    assert (await issue(system, "d101", body | {"case_id": theirs})).status_code == 404
    assert (await issue(system, "s001", body | {"case_id": theirs})).status_code == 404
    bad = await issue(system, "l001", body | {"case_id": theirs, "unit": "NO-SUCH"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["loc"] == ["body", "unit"]
    zero = await issue(system, "l001", body | {"case_id": theirs, "respond_within": "0s"})
    assert zero.status_code == 422 and zero.json()["errors"][0]["loc"][-1] == "respond_within"
    assert [n["unit"] for n in (await case(system, theirs))["notices"]] == []  # nothing stored
    # leaders stay read-only on the case's own actions
    assert (await act(system, "l001", theirs, "assign", {"unit": "620602107"})).status_code == 403


def _one_hour_response_policy() -> str:
    text = DEFAULT_POLICY_PATH.read_text(encoding="utf-8")
    old = "    limit: 1d\n    start: notice\n    calendar: workday\n"
    assert old in text
    return text.replace(old, "    limit: 1h\n    start: notice\n    calendar: natural\n")


async def test_an_unanswered_notice_reminds_the_unit_then_tells_its_head_then_the_issuers_leader_once_each(
    system, tmp_path
):
    with policy(system, _one_hour_response_policy(), tmp_path), manual_clock() as clk:
        case_id = await graded_case(system)
        resp = await issue(system, "l001", {"case_id": case_id, "unit": "PS-DL", "reason": "请派出所尽快处置"})
        assert resp.status_code == 201, resp.text
        number = resp.json()["number"]
        steps = [
            (61, {"deadline_warning": 2, "deadline_breached": 1, "remind": 1}),  # warned at 50% and 80%
            (121, {"notice_head": 1}),
            (181, {"notice_leader": 1}),
            (400, {}),  # the ladder is over: nothing more
        ]
        seen: dict[str, int] = {}
        elapsed = 0
        for minute, want in steps:
            clk.advance(minutes=minute - elapsed)
            elapsed = minute
            await run_sweep(system)
            await run_sweep(system)  # a second pass fires nothing more
            timeline = (await case(system, case_id, "admin"))["timeline"]
            counts: dict[str, int] = {}
            for t in timeline:
                if number in (t["note"] or "") and t["action"] != "notice":
                    counts[t["action"]] = counts.get(t["action"], 0) + 1
            expected = {**seen, **{k: seen.get(k, 0) + v for k, v in want.items()}}
            assert counts == expected, (minute, counts)
            seen = expected
        await system.drain()
        # (the case's own clocks breach too; the ladder's notices run their clocks: told apart by the number)
        rows = [
            r for r in await messages(system, case_id) if r.rule.startswith("notice_response_") and number in r.title
        ]
        assert sorted({(r.rule, r.channel, r.recipient) for r in rows}) == [
            ("notice_response_head", "inbox", "user:s001"),  # s001 has no phone on file: no SMS
            ("notice_response_leader", "inbox", "user:l001"),
            ("notice_response_leader", "sms", "user:l001"),
            ("notice_response_remind", "inbox", "user:s001"),
            ("notice_response_remind", "webhook", "department:PS-DL"),
        ]
        assert len(rows) == 5  # each told once
        # the late answer meets the breached clock late and nothing more fires
        ps = await dept_token(system)
        url = f"{system.cases_url}/v1/notices/{resp.json()['id']}/answer"
        assert (await system.http.post(url, json={"answer": "已处置完毕"}, headers=ps)).status_code == 200
        clock = notice_clocks(await case(system, case_id))[resp.json()["id"]]
        assert clock["state"] == "breached" and clock["met_at"] is not None


async def test_ladder_notices_get_the_same_response_clock(system):
    with manual_clock() as clk:
        case_id = await graded_case(system)
        await whistle(system, case_id, lead="PS-DL", reason="请派出所处理")
        clk.advance(minutes=121)  # contact and acknowledge breached at 1 h; their notices at 2 h
        await run_sweep(system)
        c = await case(system, case_id)
        assert len(c["notices"]) == 2
        clocks = notice_clocks(c)
        for n in c["notices"]:
            assert n["id"] in clocks and clocks[n["id"]]["state"] == "pending"
            assert datetime.fromisoformat(n["respond_by"]) == datetime.fromisoformat(clocks[n["id"]]["due_at"])


def test_the_notice_response_clock_is_policy_with_a_default_and_a_checked_ladder(tmp_path):
    base = DEFAULT_POLICY_PATH.read_text(encoding="utf-8")
    head, _ = base.split("  notice_response:\n", 1)
    ladder = "warn_at: [0.5, 0.8]\nescalation:\n  - {after: 0, do: remind}\n"

    def load(text: str) -> Any:
        path = tmp_path / "policy.yaml"
        path.write_text(text, encoding="utf-8")
        return load_policy(str(path))

    left_out = load(head + ladder)  # a deployment's older file: the default clock and ladder
    kp = left_out.deadlines["notice_response"]
    assert (kp.limit, kp.calendar, [s.do for s in kp.escalation or []]) == (
        timedelta(days=1),
        "workday",
        ["remind", "head", "leader"],
    )
    assert [s.action for s in left_out.steps("notice_response")][-3:] == ["remind", "head", "leader"]
    assert [s.action for s in left_out.steps("contact")][-1:] == ["remind"]
    for bad, message in (
        ("  notice_response: {limit: 1d, start: notice, escalation: [{after: 0, do: notice}]}\n", "remind、head"),
        ("  notice_response: {limit: 1d, start: resolved}\n", "start: notice"),
        ("  notice_response: {limit: 1d, start: notice, repeat: true}\n", "不能重复"),
    ):
        with pytest.raises(ValueError, match=message):
            load(head + bad + ladder)
    with pytest.raises(ValueError, match="只用于 notice_response"):
        load(head + ladder + "  - {after: 1, do: head}\n")
