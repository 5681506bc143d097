"""Every state × action pair is allowed or 409 (listing what is allowed); every role × resource pair
across two townships is allowed or 404."""

from __future__ import annotations

import uuid

import pytest
import pytest_asyncio
from sqlalchemy import text

from services.cases.case.machine import ACTIONS, STATES, allowed_actions, next_state
from tests.cases.factories import force_case_state, make_case
from tests.cases.helpers import act, dept_token
from tests.intake.factories import GRID_W101
from tests.intake.factories import id_number as new_id_number

BODIES = {
    "grade": {},
    "assign": {"unit": "620602107201"},
    "contact": {"note": "已联系"},
    "whistle": {"departments": [{"code": "SF-DL", "role": "assist"}], "reason": "协助"},
    "suspend": {"reason": "等待"},
    "resume": {},
    "extend": {"deadline_id": str(uuid.uuid4()), "by": "1d", "reason": "r", "approver": "a"},
    "escalate": {"reason": "复杂"},
    "update": {"note": "进展"},
    "resolve": {"outcome": "mediated"},
    "reply": {"text": "答复"},
    "defer": {"reason": "需等待法院判决", "expected_by": "2099-12-31"},
    "revisit": {"satisfaction": "satisfied"},
    "close": {},
    "merge": {"into": str(uuid.uuid4()), "reason": "重复"},
    "reject": {"reason": "不属于受理范围"},
    "reopen": {"reason": "重新办理"},
}


async def valid_body(system, case_id, action):
    """A body that makes an allowed action succeed: extend names the case's own clock, merge a live case."""
    if action == "extend":
        async with system.cases_app.state.db.unit_of_work() as s:
            deadline = (
                await s.execute(
                    text(
                        "SELECT CAST(id AS text) FROM cases.deadlines"
                        " WHERE case_id = CAST(:c AS uuid) AND state = 'pending' LIMIT 1"
                    ),
                    {"c": case_id},
                )
            ).scalar()
        return BODIES[action] | {"deadline_id": deadline}
    if action == "merge":
        into, _ = await make_case(system, flags=[], category="other")
        return BODIES[action] | {"into": into}
    return BODIES[action]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def matrix_cases(system):
    """One case per state, put there directly (the matrix is about the gate, not the path)."""
    out = {}
    for state in STATES:
        case_id, _ = await make_case(system, flags=[], category="other")
        await force_case_state(system, case_id, state)
        out[state] = case_id
    return out


@pytest.mark.parametrize("state", STATES)
async def test_state_action_gate(system, matrix_cases, state):
    allowed = set(allowed_actions(state))
    for action in ACTIONS:
        # each action on a fresh copy of the state, so one allowed action does not change the next
        case_id, _ = await make_case(system, flags=[], category="other")
        await force_case_state(system, case_id, state)
        r = await act(system, "d001", case_id, action, await valid_body(system, case_id, action))
        body = r.json()
        if action in allowed:
            assert r.status_code == 200, (state, action, r.status_code, body)
            assert body["state"] == next_state(action, state), (state, action, body["state"])
        else:
            assert r.status_code == 409 and body["code"] == "action_not_allowed", (state, action, r.status_code, body)
            assert set(body["allowed_actions"]) == allowed


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def two_townships(system):
    dl, _ = await make_case(system, flags=[], category="other")
    sch, _ = await make_case(system, grid=GRID_W101, flags=[], category="other")
    await act(system, "d001", dl, "grade")
    r = await act(system, "d001", dl, "whistle", {"departments": [{"code": "PS-DL", "role": "lead"}], "reason": "r"})
    assert r.status_code == 200
    whistle_id = r.json()["whistles"][0]["id"]
    await act(system, "d101", sch, "grade")
    return {"dl": dl, "sch": sch, "whistle": whistle_id}


# role → (may act on 大柳镇 case, may act on 三岔河镇 case); leaders read but get 403 on acting
ACTORS = [("d001", 200, 404), ("d101", 404, 200), ("l001", 403, 403), ("admin", 200, 200), ("s001", 404, 404)]


@pytest.mark.parametrize(("user", "on_dl", "on_sch"), ACTORS)
async def test_role_area_gate_on_actions(system, two_townships, user, on_dl, on_sch):
    for key, want in (("dl", on_dl), ("sch", on_sch)):
        r = await act(system, user, two_townships[key], "contact", {"note": f"{user} 联系"})
        assert r.status_code == want, (user, key, r.status_code, r.text[:200])


@pytest.mark.parametrize(("user", "device"), [("w001", "dev-w001"), ("w101", "dev-w101")])
async def test_grid_workers_reach_no_case_resource(system, two_townships, user, device):
    hdrs = await system.auth(user, device)
    for path in (
        "/v1/cases",
        f"/v1/cases/{two_townships['dl']}",
        "/v1/deadlines",
        "/v1/notices",
        "/v1/subjects",
        "/v1/whistles",
    ):
        assert (await system.http.get(f"{system.cases_url}{path}", headers=hdrs)).status_code == 404, path
    r = await system.http.post(
        f"{system.cases_url}/v1/cases/{two_townships['dl']}/contact", json={"note": "x"}, headers=hdrs
    )
    assert r.status_code == 404


async def test_departments_see_only_their_whistles(system, two_townships):
    ps_dl = await dept_token(system, "ps-dl")
    ps_sch = await dept_token(system, "ps-sch")
    staff = await system.auth("s001")
    wid = two_townships["whistle"]
    for hdrs, sees in ((ps_dl, True), (staff, True), (ps_sch, False)):
        items = (await system.http.get(f"{system.cases_url}/v1/whistles", params={"limit": 500}, headers=hdrs)).json()[
            "items"
        ]
        assert (wid in {w["id"] for w in items}) is sees
        case_resp = await system.http.get(f"{system.cases_url}/v1/cases/{two_townships['dl']}", headers=hdrs)
        assert case_resp.status_code == (200 if sees else 404)
        assert (
            await system.http.get(f"{system.cases_url}/v1/cases/{two_townships['sch']}", headers=hdrs)
        ).status_code == 404
    assert (
        await system.http.post(f"{system.cases_url}/v1/whistles/{wid}/ack", json={}, headers=ps_sch)
    ).status_code == 404
    assert (
        await system.http.post(f"{system.cases_url}/v1/whistles/{wid}/ack", json={}, headers=await system.auth("d001"))
    ).status_code == 404


async def test_subjects_are_matched_by_id_number_and_scoped(system):
    id_number = new_id_number()
    for _ in range(3):
        await make_case(
            system, flags=[], category="debt", parties=[{"name": "钱某", "id_number": id_number, "role": "applicant"}]
        )
    high = (
        await system.http.get(
            f"{system.cases_url}/v1/subjects", params={"risk": "high", "limit": 500}, headers=await system.auth("d001")
        )
    ).json()["items"]
    assert any(s["name"] == "钱某" and s["case_count"] == 3 for s in high)
    assert all("id_number" not in s for s in high)
    theirs = (
        await system.http.get(
            f"{system.cases_url}/v1/subjects", params={"risk": "high", "limit": 500}, headers=await system.auth("d101")
        )
    ).json()["items"]
    assert not any(s["name"] == "钱某" for s in theirs)
    case_id, _ = await make_case(
        system,
        flags=[],
        people_involved=2,
        category="debt",
        parties=[{"name": "另一个名字", "id_number": id_number, "role": "applicant"}],
    )
    async with system.cases_app.state.db.unit_of_work() as s:
        grade = (
            await s.execute(text("SELECT grade FROM cases.cases WHERE id = CAST(:c AS uuid)"), {"c": case_id})
        ).scalar()
    assert grade["level"] == "petition_backlog" and any("信访积案" in r for r in grade["reasons"])


async def test_a_person_becoming_high_risk_gets_one_risk_warning_notice(system):
    id_number = new_id_number()
    party = [{"name": "孙某", "id_number": id_number, "role": "applicant"}]
    ids = [
        (await make_case(system, flags=[], people_involved=2, category="neighbour", parties=party))[0] for _ in range(4)
    ]
    hdrs = await system.auth("d001")
    notices = (
        await system.http.get(
            f"{system.cases_url}/v1/notices", params={"kind": "risk_warning", "limit": 500}, headers=hdrs
        )
    ).json()["items"]
    mine = [n for n in notices if n["case_id"] in ids]
    assert len(mine) == 1 and "孙某" in mine[0]["subject"] and "预〔" in mine[0]["number"]
    assert mine[0]["case_id"] == ids[2]  # the third case made the person high-risk; the fourth adds no second notice
    r = await system.http.post(
        f"{system.cases_url}/v1/notices/{mine[0]['id']}/answer",
        json={"answer": "已落实包保责任人，每月走访"},
        headers=hdrs,
    )
    assert r.status_code == 200 and r.json()["state"] == "answered"
