"""The handling centre (承办中心): which centre a case goes to by its tier and area path, its queue, who may
decide and who only reads and reports progress, escalation handing a case over, joint handling of a 信访积案,
and notify telling the handling centre(s). Demo org: 小柳村 (620602107202) has its own centre (d202);
大柳村 has none (its village cases are 大柳镇's, d001); the county centre is dc001, the county leader l001."""

from __future__ import annotations

from typing import Any

from tests.cases.factories import ORDINARY, graded_case, import_org, make_case, whistle
from tests.cases.helpers import act, case, dept_token
from tests.intake.factories import GRID_W001, GRID_W002
from tests.notify.helpers import messages

COUNTY, DALIU, XIAOLIU = "620602", "620602107", "620602107202"


async def queue(system: Any, user: str) -> list[str]:
    resp = await system.http.get(
        f"{system.cases_url}/v1/cases", params={"handling": "mine", "limit": 500}, headers=await system.auth(user)
    )
    assert resp.status_code == 200, resp.text
    return [c["id"] for c in resp.json()["items"]]


async def told(system: Any, case_id: str, rule: str) -> set[str]:
    """Who notify told of a case by one rule (in-app)."""
    await system.drain()
    return {r.recipient for r in await messages(system, case_id) if r.rule == rule and r.channel == "inbox"}


async def test_major_case_in_a_village_with_its_own_centre_goes_to_the_township_and_the_county_dispatchers_hear(
    system,
):
    case_id, _ = await make_case(system, GRID_W002)  # 12 people, group gathering: major
    c = await case(system, case_id, "d202")  # the village centre still sees it
    assert (c["grade"]["level"], c["tier"], c["handling"]) == ("major", "township", [DALIU])
    assert case_id in await queue(system, "d001")
    assert case_id not in await queue(system, "d202")
    assert case_id not in await queue(system, "dc001")  # informed, not handling
    listed = (
        await system.http.get(
            f"{system.cases_url}/v1/cases", params={"handling": "mine"}, headers=await system.auth("d001")
        )
    ).json()["items"]
    assert next(i for i in listed if i["id"] == case_id)["handling"] == [DALIU]
    heard = await told(system, case_id, "major_case")
    assert {"user:d001", "user:dc001", "user:l001"} <= heard
    assert "user:d202" not in heard


async def test_ordinary_case_of_a_village_with_a_centre_is_the_village_s_and_the_township_above_may_act(system):
    case_id = await graded_case(system, GRID_W002, user="d202")
    c = await case(system, case_id, "d202")
    assert (c["tier"], c["handling"]) == ("village", [XIAOLIU])
    assert case_id in await queue(system, "d202") and case_id not in await queue(system, "d001")
    # the township supervises: it may decide too, and the timeline says which centre did what
    assert (await act(system, "d001", case_id, "assign", {"unit": XIAOLIU, "note": "镇中心交办"})).status_code == 200
    timeline = (await case(system, case_id, "admin"))["timeline"]
    assert [(t["action"], t["centre"]) for t in timeline if t["action"] in ("grade", "assign")] == [
        ("grade", XIAOLIU),
        ("assign", DALIU),
    ]


async def test_lower_centre_is_refused_a_decision_with_the_reason_but_may_report_progress(system):
    case_id, _ = await make_case(system, GRID_W002)  # major: the township's
    assert (await act(system, "d001", case_id, "grade")).status_code == 200
    before = (await case(system, case_id, "admin"))["timeline"]
    for action, body in (
        ("grade", {"level": "ordinary", "reason": "村里能调解"}),
        ("assign", {"unit": XIAOLIU}),
        ("whistle", {"departments": [{"code": "PS-DL", "role": "lead"}], "reason": "请出警"}),
        ("reject", {"reason": "不属实"}),
        ("update", {"note": "村里已报县", "kind": "major_report"}),
    ):
        resp = await act(system, "d202", case_id, action, body)
        assert resp.status_code == 403, (action, resp.text)
        problem = resp.json()
        assert problem["code"] == "not_handling_centre" and problem["handling"] == [DALIU]
        assert "大柳镇综治中心承办" in problem["detail"] and "小柳村综治中心" in problem["detail"], problem
    c = await case(system, case_id, "admin")
    assert c["timeline"] == before and c["state"] == "graded"  # nothing changed
    assert (await case(system, case_id, "d202"))["allowed_actions"] == ["update"]
    resp = await act(system, "d202", case_id, "update", {"note": "村调解员已上门稳控情绪"})
    assert resp.status_code == 200, resp.text
    entry = resp.json()["timeline"][-1]
    assert (entry["action"], entry["actor"], entry["centre"]) == ("update", "dispatcher:d202", XIAOLIU)


async def test_escalation_hands_the_case_to_the_county_whose_dispatcher_then_acts(system):
    case_id = await graded_case(system, user="d202", grid=GRID_W002)
    assert (await act(system, "d202", case_id, "escalate", {"reason": "村级调解不成"})).status_code == 200
    c = await case(system, case_id, "d202")  # the old centre keeps read access
    assert (c["tier"], c["handling"]) == ("township", [DALIU])
    assert "移交大柳镇综治中心办理" in c["timeline"][-1]["note"]
    assert case_id in await queue(system, "d001") and case_id not in await queue(system, "d202")
    assert "user:d001" in await told(system, case_id, "case_escalated")  # told at once

    assert (await act(system, "d001", case_id, "escalate", {"reason": "涉及多部门，报县"})).status_code == 200
    c = await case(system, case_id, "d001")
    assert (c["tier"], c["handling"]) == ("county", [COUNTY])
    assert "移交凉州区综治中心办理" in c["timeline"][-1]["note"]
    assert case_id in await queue(system, "dc001") and case_id not in await queue(system, "d001")
    assert "user:dc001" in await told(system, case_id, "case_escalated")
    # the township now reads and reports progress; the county decides
    refused = await act(
        system, "d001", case_id, "whistle", {"departments": [{"code": "PS-DL", "role": "lead"}], "reason": "x"}
    )
    assert refused.status_code == 403 and "凉州区综治中心承办" in refused.json()["detail"]
    assert (await act(system, "d001", case_id, "update", {"note": "镇里继续跟进"})).status_code == 200
    done = await whistle(system, case_id, lead="PS-DL", reason="县中心吹哨派出所", user="dc001")
    assert done["whistles"][-1]["department"] == "PS-DL" and done["timeline"][-1]["centre"] == COUNTY


async def test_a_village_without_its_own_centre_is_the_township_s_until_escalated_to_the_county(system):
    case_id = await graded_case(system)  # 大柳村: the township handles its village cases
    assert (await case(system, case_id))["handling"] == [DALIU]
    assert (await act(system, "d001", case_id, "escalate", {"reason": "村级调处不了"})).status_code == 200
    c = await case(system, case_id)
    assert (c["tier"], c["handling"]) == ("township", [DALIU])  # one tier up: still the township's
    assert (await act(system, "d001", case_id, "escalate", {"reason": "镇里协调不了"})).status_code == 200
    c = await case(system, case_id)
    assert (c["tier"], c["handling"]) == ("county", [COUNTY])


async def test_petition_backlog_is_handled_jointly_by_the_county_and_the_township(system):
    case_id = await graded_case(system)
    resp = await act(system, "d001", case_id, "grade", {"level": "petition_backlog", "reason": "多次重复信访"})
    assert resp.status_code == 200, resp.text
    c = resp.json()
    assert (c["tier"], c["handling"]) == ("county", [COUNTY, DALIU])
    assert c["grade"]["joint_with"] == "township"
    assert case_id in await queue(system, "d001") and case_id in await queue(system, "dc001")
    # either may act; the timeline says which centre did what
    assert (await act(system, "dc001", case_id, "assign", {"unit": DALIU, "person": "d001"})).status_code == 200
    await whistle(system, case_id, lead="PS-DL", reason="镇中心吹哨派出所", user="d001")
    timeline = (await case(system, case_id, "admin"))["timeline"]
    assert [(t["action"], t["actor"], t["centre"]) for t in timeline if t["action"] in ("assign", "whistle")] == [
        ("assign", "dispatcher:dc001", COUNTY),
        ("whistle", "dispatcher:d001", DALIU),
    ]
    # both are told: the department returning its whistle reaches the dispatchers of both centres
    ps = await dept_token(system)
    whistle_id = (await case(system, case_id))["whistles"][-1]["id"]
    back = await system.http.post(
        f"{system.cases_url}/v1/whistles/{whistle_id}/return", json={"reason": "非本部门职责"}, headers=ps
    )
    assert back.status_code == 200, back.text
    assert {"user:d001", "user:dc001"} <= await told(system, case_id, "whistle_returned_centre")
    # a centre below both (小柳村's) is not one of them; a township elsewhere does not see it at all
    assert (
        await system.http.get(f"{system.cases_url}/v1/cases/{case_id}", headers=await system.auth("d101"))
    ).status_code == 404


async def test_a_tier_set_by_hand_names_one_handling_centre(system):
    case_id = await graded_case(system, **ORDINARY)
    resp = await act(system, "d001", case_id, "grade", {"tier": "county", "reason": "县里统一协调"})
    assert resp.status_code == 200, resp.text
    assert (resp.json()["tier"], resp.json()["handling"]) == ("county", [COUNTY])


async def test_a_centre_left_without_dispatchers_hands_its_open_cases_to_the_next_centre_up(system):
    """大柳村 gets a centre for a while; when its only dispatcher leaves, its open case goes to 大柳镇's queue with
    a timeline entry, once, and a later import moves nothing more."""
    temp = {
        "username": "dvh201",
        "name": "临时村调度员",
        "role": "dispatcher",
        "areas": ["620602107201"],
        "password": "demo-pass-1",
    }
    await import_org(system, {"users": [temp]})
    try:
        case_id = await graded_case(system, GRID_W001, user="dvh201")
        c = await case(system, case_id, "admin")
        assert (c["tier"], c["handling"]) == ("village", ["620602107201"])
        assert case_id not in await queue(system, "d001")
    finally:
        await import_org(system, {"users": [temp | {"active": False}]})
    c = await case(system, case_id, "admin")
    assert c["handling"] == [DALIU] and c["tier"] == "village"
    handover = [t for t in c["timeline"] if t["action"] == "handover"]
    assert len(handover) == 1 and handover[0]["note"].endswith("案件移交大柳镇综治中心办理")
    assert handover[0]["actor"] == "system:directory"
    assert case_id in await queue(system, "d001")
    await import_org(system, {"users": [temp | {"active": False}]})
    again = await case(system, case_id, "admin")
    assert [t["action"] for t in again["timeline"]].count("handover") == 1 and again["handling"] == [DALIU]
