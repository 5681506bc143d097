"""吹哨报到 across the case life: the lead's done meets the 3 days, returns and reopens leave no clock
running and no stale task on a phone, a reopened case can be whistled again."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import text

from tests.cases.factories import graded_case, make_case, whistle
from tests.cases.helpers import act, case, dept_token, manual_clock


async def whistle_of(system, headers, case_id):
    items = (await system.http.get(f"{system.cases_url}/v1/whistles", headers=headers)).json()["items"]
    return [w for w in items if w["case_id"] == case_id]


async def move(system, headers, whistle_id, name, body=None):
    return await system.http.post(
        f"{system.cases_url}/v1/whistles/{whistle_id}/{name}", json=body or {}, headers=headers
    )


async def whistled(system, dept="PS-DL"):
    case_id = await graded_case(system)
    await whistle(system, case_id, lead=dept, reason="请牵头处理")
    return case_id


async def deadline_states(system, case_id):
    async with system.cases_app.state.db.unit_of_work() as s:
        return [
            (r.kind, r.state, r.met_by, r.cancel_reason)
            for r in await s.execute(
                text(
                    "SELECT kind, state, met_by, cancel_reason FROM cases.deadlines"
                    " WHERE case_id = :c ORDER BY created_at"
                ),
                {"c": uuid.UUID(case_id)},
            )
        ]


async def test_lead_department_done_on_time_meets_the_resolve_clock(system):
    with manual_clock() as clk:
        case_id = await whistled(system)
        ps = await dept_token(system, "ps-dl")
        (w,) = await whistle_of(system, ps, case_id)
        clk.advance(hours=30)
        for name in ("ack", "done"):
            assert (await move(system, ps, w["id"], name, {"note": "已调处"})).status_code == 200
        resolve = next(d for d in (await case(system, case_id))["deadlines"] if d["kind"] == "resolve")
        assert resolve["state"] == "met" and resolve["met_by"].startswith("department_system:")
        r = await act(system, "d001", case_id, "resolve", {"outcome": "mediated"})
        assert r.status_code == 200 and r.json()["state"] == "resolved"
        assert next(d for d in r.json()["deadlines"] if d["kind"] == "resolve")["met_by"] == resolve["met_by"]


async def test_lead_cannot_return_a_suspended_case_so_no_clock_stays_frozen(system):
    case_id = await whistled(system)
    ps = await dept_token(system, "ps-dl")
    (w,) = await whistle_of(system, ps, case_id)
    assert (await act(system, "d001", case_id, "suspend", {"reason": "等待鉴定结果"})).status_code == 200
    r = await move(system, ps, w["id"], "return", {"reason": "非本部门职责"})
    assert r.status_code == 409 and "return" not in r.json()["allowed_actions"]
    c = await case(system, case_id)
    assert c["state"] == "suspended" and c["whistles"][0]["state"] == "pending"
    assert (await act(system, "d001", case_id, "resume")).status_code == 200
    assert (await move(system, ps, w["id"], "return", {"reason": "非本部门职责"})).status_code == 200
    async with system.cases_app.state.db.unit_of_work() as s:
        frozen = (
            await s.execute(
                text(
                    "SELECT count(*) FROM cases.deadlines"
                    " WHERE case_id = :c AND paused_at IS NOT NULL AND state = 'pending'"
                ),
                {"c": uuid.UUID(case_id)},
            )
        ).scalar()
    assert frozen == 0


async def test_next_lead_after_a_return_gets_fresh_three_days(system):
    with manual_clock() as clk:
        case_id = await whistled(system)
        first_due = next(d for d in (await case(system, case_id))["deadlines"] if d["kind"] == "resolve")["due_at"]
        ps = await dept_token(system, "ps-dl")
        (w,) = await whistle_of(system, ps, case_id)
        clk.advance(hours=50)
        assert (await move(system, ps, w["id"], "return", {"reason": "非本部门职责"})).status_code == 200
        r = await act(
            system,
            "d001",
            case_id,
            "whistle",
            {"departments": [{"code": "SF-DL", "role": "lead"}], "reason": "改由司法所牵头"},
        )
        assert r.status_code == 200, r.text
        resolves = [d for d in r.json()["deadlines"] if d["kind"] == "resolve"]
        assert [d["state"] for d in resolves] == ["cancelled", "pending"]
        assert resolves[1]["due_at"] != first_due
        reasons = [x[3] for x in await deadline_states(system, case_id) if x[0] == "resolve"]
        assert reasons[0].startswith("牵头部门 PS-DL 退回") and reasons[1] is None


async def test_dissatisfied_revisit_can_be_whistled_again_and_gets_fresh_reply_clock(system):
    case_id = await whistled(system)
    ps = await dept_token(system, "ps-dl")
    (w,) = await whistle_of(system, ps, case_id)
    for name in ("ack", "done"):
        assert (await move(system, ps, w["id"], name)).status_code == 200
    for action, body in (
        ("resolve", {"outcome": "mediated"}),
        ("reply", {"text": "已调解"}),
        ("revisit", {"satisfaction": "dissatisfied", "note": "仍有异议"}),
    ):
        r = await act(system, "d001", case_id, action, body)
        assert r.status_code == 200, (action, r.text)
    r = await act(
        system,
        "d001",
        case_id,
        "whistle",
        {"departments": [{"code": "PS-DL", "role": "lead"}], "reason": "重新牵头办理"},
    )
    assert r.status_code == 200, r.text
    c = r.json()
    assert [x["state"] for x in c["whistles"]] == ["done", "pending"]
    assert [d["state"] for d in c["deadlines"] if d["kind"] == "resolve"] == ["met", "pending"]
    # the new lead must finish before the case can be resolved again
    assert (await act(system, "d001", case_id, "resolve", {"outcome": "mediated"})).status_code == 409
    new = next(x for x in await whistle_of(system, ps, case_id) if x["state"] == "pending")
    for name in ("ack", "done"):
        assert (await move(system, ps, new["id"], name)).status_code == 200
    assert (await act(system, "d001", case_id, "resolve", {"outcome": "mediated"})).status_code == 200
    r = await act(system, "d001", case_id, "reply", {"text": "再次答复"})
    assert [d["state"] for d in r.json()["deadlines"] if d["kind"] == "reply"] == ["met", "met"]
    assert [d["state"] for d in r.json()["deadlines"] if d["kind"] == "revisit"] == ["met", "pending"]


async def test_reopen_from_replied_cancels_reply_revisit_clocks_and_clears_the_phone_task(system):
    snap = (
        await system.http.get(f"{system.intake_url}/v1/sync/pull", headers=await system.auth("w001", "dev-w001"))
    ).json()
    case_id, _ = await make_case(system, flags=[], category="debt", people_involved=2)
    for action, body in (
        ("grade", {}),
        ("assign", {"unit": "620602107201", "person": "村调委会"}),
        ("resolve", {"outcome": "mediated"}),
        ("reply", {"text": "已答复"}),
    ):
        assert (await act(system, "d001", case_id, action, body)).status_code == 200, action
    r = await act(system, "d001", case_id, "reopen", {"reason": "当事人反映协议未履行"})
    assert r.status_code == 200 and r.json()["state"] == "in_progress"
    revisit = [d for d in r.json()["deadlines"] if d["kind"] == "revisit"]
    assert [d["state"] for d in revisit] == ["cancelled"] and "重新办理" in revisit[0]["cancel_reason"]
    await system.drain()
    async with system.cases_app.state.db.unit_of_work() as s:
        assert (
            await s.execute(
                text("SELECT count(*) FROM cases.tasks WHERE case_id = :c AND state = 'open'"),
                {"c": uuid.UUID(case_id)},
            )
        ).scalar() == 0
    feed = (
        await system.http.get(
            f"{system.intake_url}/v1/sync/pull",
            params={"cursor": snap["cursor"], "limit": 500},
            headers=await system.auth("w001", "dev-w001"),
        )
    ).json()
    tasks = [ch["data"] for ch in feed["changes"] if ch["type"] == "task" and ch["data"].get("case_id") == case_id]
    assert [t.get("state", "open") for t in tasks] == ["open", "cancelled"]
    assert tasks[0]["task_id"] == tasks[1]["task_id"]
    fresh = (
        await system.http.get(f"{system.intake_url}/v1/sync/pull", headers=await system.auth("w001", "dev-w001"))
    ).json()
    assert not any(ch["type"] == "task" and ch["data"].get("case_id") == case_id for ch in fresh["changes"])
    # resolve and reply again: a fresh reply clock
    assert (await act(system, "d001", case_id, "resolve", {"outcome": "mediated"})).status_code == 200
    reply = [d["state"] for d in (await case(system, case_id))["deadlines"] if d["kind"] == "reply"]
    assert reply == ["met", "pending"]


async def test_department_sees_its_whistles_with_their_deadlines_and_the_event_carries_the_report_in_due(system):
    with manual_clock() as clk:
        case_id = await whistled(system)
        ps = await dept_token(system, "ps-dl")
        (w,) = await whistle_of(system, ps, case_id)
        kinds = {d["kind"]: d for d in w["deadlines"]}
        assert set(kinds) == {"acknowledge", "resolve"} and all(d["state"] == "pending" for d in kinds.values())
        ack_due = kinds["acknowledge"]["due_at"]
        assert datetime.fromisoformat(ack_due) == clk.now() + timedelta(hours=1)
    await system.drain()
    async with system.services["notify"].app.state.db.unit_of_work() as s:
        payload = (
            await s.execute(
                text("SELECT payload FROM notify.events WHERE aggregate_id = :a AND type = 'whistle.created'"),
                {"a": case_id},
            )
        ).scalar_one()
    assert payload["whistle_id"] == w["id"] and datetime.fromisoformat(
        payload["acknowledge_due_at"]
    ) == datetime.fromisoformat(ack_due)


def resolve_clocks(w):
    return [(d["state"], d["due_at"]) for d in w["deadlines"] if d["kind"] == "resolve"]


async def test_a_returned_lead_shows_its_own_cancelled_resolve_clock_and_the_next_lead_only_its_fresh_one(system):
    with manual_clock() as clk:
        case_id = await whistled(system)
        ps = await dept_token(system, "ps-dl")
        (first,) = await whistle_of(system, ps, case_id)
        (old,) = resolve_clocks(first)
        clk.advance(hours=50)
        assert (await move(system, ps, first["id"], "return", {"reason": "需补充材料"})).status_code == 200
        r = await act(
            system,
            "d001",
            case_id,
            "whistle",
            {"departments": [{"code": "PS-DL", "role": "lead"}], "reason": "补充材料后再请牵头"},
        )
        assert r.status_code == 200, r.text
        by_id = {w["id"]: w for w in await whistle_of(system, ps, case_id)}
        second = next(w for i, w in by_id.items() if i != first["id"])
        assert resolve_clocks(by_id[first["id"]]) == [("cancelled", old[1])]
        (fresh,) = resolve_clocks(second)
        assert fresh[0] == "pending" and datetime.fromisoformat(fresh[1]) == clk.now() + timedelta(days=3)


async def test_a_lead_whistled_after_an_assist_shows_the_resolve_clock_running_for_the_case(system):
    with manual_clock() as clk:
        case_id, _ = await make_case(system, flags=[], category="neighbour", people_involved=2)
        assert (await act(system, "d001", case_id, "grade")).status_code == 200
        r = await act(
            system,
            "d001",
            case_id,
            "whistle",
            {"departments": [{"code": "SF-DL", "role": "assist"}], "reason": "先请司法所协助"},
        )
        assert r.status_code == 200, r.text
        started = clk.now()
        clk.advance(hours=2)
        r = await act(
            system,
            "d001",
            case_id,
            "whistle",
            {"departments": [{"code": "PS-DL", "role": "lead"}], "reason": "派出所牵头"},
        )
        assert r.status_code == 200, r.text
        (lead,) = await whistle_of(system, await dept_token(system, "ps-dl"), case_id)
        assert [(s, datetime.fromisoformat(d)) for s, d in resolve_clocks(lead)] == [
            ("pending", started + timedelta(days=3))
        ]


async def test_dispatcher_cannot_whistle_a_department_of_another_township(system):
    case_id, _ = await make_case(system, flags=[], category="neighbour", people_involved=2)
    await act(system, "d001", case_id, "grade")
    r = await act(
        system,
        "d001",
        case_id,
        "whistle",
        {
            "departments": [
                {"code": "SF-DL", "role": "lead"},
                {"code": "PS-SCH", "role": "assist"},
                {"code": "NOPE", "role": "assist"},
            ],
            "reason": "协同",
        },
    )
    assert r.status_code == 422
    assert [e["loc"] for e in r.json()["errors"]] == [
        ["body", "departments", 1, "code"],
        ["body", "departments", 2, "code"],
    ]
    c = await case(system, case_id)
    assert c["whistles"] == [] and c["state"] == "graded"
    r = await act(
        system, "d001", case_id, "whistle", {"departments": [{"code": "SF-DL", "role": "lead"}], "reason": "司法所牵头"}
    )
    assert r.status_code == 200


async def whistled_with_assist(system):
    case_id, _ = await make_case(system, flags=[], category="neighbour", people_involved=2)
    assert (await act(system, "d001", case_id, "grade")).status_code == 200
    r = await act(
        system,
        "d001",
        case_id,
        "whistle",
        {
            "departments": [{"code": "PS-DL", "role": "lead"}, {"code": "SF-DL", "role": "assist"}],
            "reason": "派出所牵头、司法所协助",
        },
    )
    assert r.status_code == 200, r.text
    return case_id


async def cancelled_events(system, case_id):
    await system.drain()
    async with system.services["notify"].app.state.db.unit_of_work() as s:
        return [
            r.payload
            for r in await s.execute(
                text("SELECT payload FROM notify.events WHERE aggregate_id = :a AND type = 'whistle.cancelled'"),
                {"a": case_id},
            )
        ]


async def test_rejecting_a_returned_case_cancels_the_assist_whistle_still_pending_and_tells_the_department(system):
    case_id = await whistled_with_assist(system)
    ps = await dept_token(system, "ps-dl")
    lead = next(w for w in await whistle_of(system, ps, case_id) if w["role"] == "lead")
    assert (await move(system, ps, lead["id"], "return", {"reason": "非本部门职责"})).status_code == 200
    r = await act(system, "d001", case_id, "reject", {"reason": "不属于受理范围"})
    assert r.status_code == 200, r.text
    assert {w["department"]: w["state"] for w in r.json()["whistles"]} == {"PS-DL": "returned", "SF-DL": "cancelled"}
    (sf,) = [w for w in r.json()["whistles"] if w["department"] == "SF-DL"]
    (event,) = await cancelled_events(system, case_id)
    assert (
        event["whistle_id"] == sf["id"]
        and event["department"] == "SF-DL"
        and event["note"] == "案件不予受理：不属于受理范围"
    )
    async with system.cases_app.state.db.unit_of_work() as s:
        reason = (
            await s.execute(text("SELECT return_reason FROM cases.whistles WHERE id = :w"), {"w": uuid.UUID(sf["id"])})
        ).scalar()
    assert reason == "案件不予受理：不属于受理范围"


async def test_closing_a_case_cancels_the_assist_whistle_left_open_so_no_department_item_hangs(system):
    case_id = await whistled_with_assist(system)
    ps = await dept_token(system, "ps-dl")
    lead = next(w for w in await whistle_of(system, ps, case_id) if w["role"] == "lead")
    for name in ("ack", "done"):
        assert (await move(system, ps, lead["id"], name)).status_code == 200
    for action, body in (
        ("resolve", {"outcome": "mediated"}),
        ("reply", {"text": "已调解"}),
        ("revisit", {"satisfaction": "satisfied"}),
    ):
        assert (await act(system, "d001", case_id, action, body)).status_code == 200, action
    assert {w["department"]: w["state"] for w in (await case(system, case_id))["whistles"]}["SF-DL"] == "pending"
    r = await act(system, "d001", case_id, "close", {"note": "已销号"})
    assert r.status_code == 200, r.text
    assert {w["department"]: w["state"] for w in r.json()["whistles"]} == {"PS-DL": "done", "SF-DL": "cancelled"}
    (event,) = await cancelled_events(system, case_id)
    assert event["department"] == "SF-DL" and event["role"] == "assist" and event["note"] == "案件已销号"


async def test_a_retired_department_cannot_be_whistled_422_naming_it_and_nothing_changes(system):
    admin = await system.auth("admin")
    dept = {"code": "RET-DL", "name": "大柳原农机站", "kind": "agriculture", "area": "620602107"}
    for active in (True, False):  # exists, then retired (撤销) by the next org import
        r = await system.http.post(
            f"{system.cases_url}/v1/admin/org", json={"departments": [dept | {"active": active}]}, headers=admin
        )
        assert r.status_code == 200, r.text
    case_id, _ = await make_case(system, flags=[], category="neighbour", people_involved=2)
    assert (await act(system, "d001", case_id, "grade")).status_code == 200
    r = await act(
        system,
        "d001",
        case_id,
        "whistle",
        {"departments": [{"code": "SF-DL", "role": "lead"}, {"code": "RET-DL", "role": "assist"}], "reason": "协同"},
    )
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
    assert [e["loc"] for e in r.json()["errors"]] == [["body", "departments", 1, "code"]]
    c = await case(system, case_id)
    assert (
        c["whistles"] == []
        and c["state"] == "graded"
        and not [d for d in c["deadlines"] if d["kind"] in ("acknowledge", "resolve")]
    )
