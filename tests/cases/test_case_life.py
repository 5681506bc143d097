"""The 131 path end to end, and the rules of the case life."""

from __future__ import annotations

from sqlalchemy import text

from tests.cases.factories import make_case
from tests.cases.helpers import act, case, dept_token, manual_clock, run_sweep
from tests.intake.factories import report


async def pull_all(system, cursor, user="w001", device="dev-w001"):
    resp = await system.http.get(
        f"{system.intake_url}/v1/sync/pull",
        params={"cursor": cursor, "limit": 500},
        headers=await system.auth(user, device),
    )
    assert resp.status_code == 200, resp.text
    return resp.json()


async def test_131_path_from_report_to_closed(system):
    snap = (
        await system.http.get(f"{system.intake_url}/v1/sync/pull", headers=await system.auth("w001", "dev-w001"))
    ).json()
    with manual_clock() as clk:
        case_id, item = await make_case(system, flags=[], people_involved=3, amount_cny="5000.00", category="neighbour")
        c = await case(system, case_id)
        assert c["state"] == "received" and c["grade"]["level"] == "ordinary" and c["tier"] == "village"
        assert {d["kind"] for d in c["deadlines"]} == {"contact"}
        assert (await act(system, "d001", case_id, "grade")).status_code == 200
        clk.advance(minutes=20)
        assert (await act(system, "d001", case_id, "contact", {"note": "已电话联系申请人王某"})).status_code == 200
        resp = await act(
            system,
            "d001",
            case_id,
            "whistle",
            {
                "departments": [{"code": "PS-DL", "role": "lead"}, {"code": "SF-DL", "role": "assist"}],
                "reason": "需派出所牵头调处",
            },
        )
        assert resp.status_code == 200, resp.text
        c = resp.json()
        assert c["state"] == "assigned"
        assert {(w["department"], w["role"], w["state"]) for w in c["whistles"]} == {
            ("PS-DL", "lead", "pending"),
            ("SF-DL", "assist", "pending"),
        }
        kinds = sorted(d["kind"] for d in c["deadlines"] if d["state"] == "pending")
        assert kinds == ["acknowledge", "acknowledge", "first_response", "resolve", "update"]
        # The police station's own system reports in, works, and reports done.
        ps = await dept_token(system, "ps-dl")
        mine = (await system.http.get(f"{system.cases_url}/v1/whistles", headers=ps)).json()["items"]
        whistle = next(w for w in mine if w["case_id"] == case_id)
        clk.advance(minutes=30)
        for move, body in (
            ("ack", {}),
            ("progress", {"note": "已约双方到所调解"}),
            ("done", {"note": "双方达成调解协议"}),
        ):
            r = await system.http.post(f"{system.cases_url}/v1/whistles/{whistle['id']}/{move}", json=body, headers=ps)
            assert r.status_code == 200, r.text
        c = await case(system, case_id)
        assert c["state"] == "in_progress"
        clk.advance(hours=2)
        assert (
            await act(
                system, "d001", case_id, "resolve", {"outcome": "mediated", "note": "调解成功", "mediator": "李调解"}
            )
        ).status_code == 200
        r = await act(system, "d001", case_id, "reply", {"text": "您反映的邻里纠纷已调解成功"})
        assert r.status_code == 200 and r.json()["state"] == "replied"
        await system.drain()
        feed = await pull_all(system, snap["cursor"])
        mine = [
            ch
            for ch in feed["changes"]
            if ch["data"].get("report_id") == item["id"] or ch["data"].get("case_id") == case_id
        ]
        assert [ch["data"]["state"] for ch in mine if ch["type"] == "report.status"][-1] == "replied"
        assert any(
            ch["type"] == "report.status" and ch["data"].get("reply") == "您反映的邻里纠纷已调解成功" for ch in mine
        )
        task = next(ch["data"] for ch in mine if ch["type"] == "task")
        assert task["kind"] == "revisit"
        # The grid worker's revisit comes up from the phone and completes the revisit.
        followup = {
            "id": report()["id"],
            "kind": "followup",
            "task_id": task["task_id"],
            "case_id": case_id,
            "satisfaction": "satisfied",
            "notes": "当事人表示满意",
        }
        r = await system.http.post(
            f"{system.intake_url}/v1/sync/push",
            json={"device_id": "dev-w001", "items": [followup]},
            headers=await system.auth("w001", "dev-w001"),
        )
        assert r.json()["results"][0]["status"] == "accepted"
        await system.drain()
        c = await case(system, case_id)
        assert c["state"] == "revisited" and c["satisfaction"] == "satisfied"
        r = await act(system, "d001", case_id, "close", {})
        assert r.status_code == 200 and r.json()["state"] == "closed"
        c = r.json()
        assert all(d["state"] in ("met", "cancelled") for d in c["deadlines"]), c["deadlines"]
        assert {d["kind"] for d in c["deadlines"] if d["state"] == "met"} >= {
            "contact",
            "acknowledge",
            "resolve",
            "reply",
            "revisit",
            "first_response",
        }
        assert [
            t["to"]
            for t in c["timeline"]
            if t["action"] in ("grade", "whistle", "resolve", "reply", "revisit", "close")
        ] == ["graded", "assigned", "resolved", "replied", "revisited", "closed"]
        await run_sweep(system)


async def test_major_case_starts_the_ten_minute_report_and_tells_notify(system):
    case_id, _ = await make_case(system, flags=["weapons"])
    c = await case(system, case_id)
    assert c["grade"]["level"] == "major" and any("凶器" in r for r in c["grade"]["reasons"])
    assert {d["kind"] for d in c["deadlines"]} == {"contact", "major_report"}
    r = await act(system, "d001", case_id, "update", {"note": "已于10分钟内向区综治中心报告", "kind": "major_report"})
    assert r.status_code == 200
    assert next(d for d in r.json()["deadlines"] if d["kind"] == "major_report")["state"] == "met"
    await system.drain()
    async with system.services["notify"].app.state.db.unit_of_work() as s:
        kinds = {
            row.type
            for row in await s.execute(text("SELECT type FROM notify.events WHERE aggregate_id = :a"), {"a": case_id})
        }
    assert {"case.received", "case.major"} <= kinds


async def test_dissatisfied_revisit_reopens(system):
    case_id, _ = await make_case(system, flags=[], people_involved=2, category="debt")
    for action, body in (
        ("grade", {}),
        ("assign", {"unit": "620602107201", "person": "村调委会"}),
        ("update", {"note": "调解中"}),
        ("resolve", {"outcome": "mediated"}),
        ("reply", {"text": "已答复"}),
        ("revisit", {"satisfaction": "dissatisfied", "note": "仍有异议"}),
    ):
        r = await act(system, "d001", case_id, action, body)
        assert r.status_code == 200, (action, r.text)
    c = r.json()
    assert c["state"] == "in_progress" and c["satisfaction"] == "dissatisfied"


async def test_override_grade_needs_reason_and_history_keeps_every_grade(system):
    case_id, _ = await make_case(system, flags=[], people_involved=2, category="family")
    assert (await act(system, "d001", case_id, "grade", {"level": "complex"})).status_code == 422
    r = await act(system, "d001", case_id, "grade", {"level": "complex", "reason": "双方分属不同村"})
    assert r.status_code == 200
    c = r.json()
    assert c["grade"]["level"] == "complex" and c["grade"]["by"] == "override" and c["tier"] == "township"
    assert [g["by"] for g in c["grade_history"]] == ["rules", "override"]


async def test_merge_moves_reports_and_cancels_deadlines_with_reason(system):
    a, item_a = await make_case(system, flags=[], category="land")
    b, _ = await make_case(system, flags=[], category="land")
    r = await act(system, "d001", a, "merge", {"into": b, "reason": "同一土地纠纷"})
    assert r.status_code == 200, r.text
    merged = r.json()
    assert merged["state"] == "merged" and merged["merged_into"] == b
    assert all(d["state"] == "cancelled" and "并入" in d["cancel_reason"] for d in merged["deadlines"])
    target = await case(system, b)
    assert item_a["id"] in {rep["id"] for rep in target["reports"]}


async def test_idempotency_key_returns_first_answer_and_refuses_other_body(system):
    case_id, _ = await make_case(system, flags=[], category="other")
    first = await act(system, "d001", case_id, "contact", {"note": "已联系"}, **{"Idempotency-Key": "k-1"})
    again = await act(system, "d001", case_id, "contact", {"note": "已联系"}, **{"Idempotency-Key": "k-1"})
    assert first.status_code == again.status_code == 200 and first.json() == again.json()
    assert [t["action"] for t in again.json()["timeline"]].count("contact") == 1
    other = await act(system, "d001", case_id, "contact", {"note": "另一内容"}, **{"Idempotency-Key": "k-1"})
    assert other.status_code == 422


async def test_returned_lead_whistle_goes_back_to_dispatcher(system):
    case_id, _ = await make_case(system, flags=[], category="consumer")
    await act(system, "d001", case_id, "grade")
    await act(
        system, "d001", case_id, "whistle", {"departments": [{"code": "PS-DL", "role": "lead"}], "reason": "消费纠纷"}
    )
    ps = await dept_token(system, "ps-dl")
    w = next(
        x
        for x in (await system.http.get(f"{system.cases_url}/v1/whistles", headers=ps)).json()["items"]
        if x["case_id"] == case_id
    )
    assert (
        await system.http.post(f"{system.cases_url}/v1/whistles/{w['id']}/return", json={}, headers=ps)
    ).status_code == 422
    r = await system.http.post(
        f"{system.cases_url}/v1/whistles/{w['id']}/return", json={"reason": "非本部门职责"}, headers=ps
    )
    assert r.status_code == 200 and r.json()["state"] == "returned"
    c = await case(system, case_id)
    assert c["state"] == "returned"
    assert next(d for d in c["deadlines"] if d["kind"] == "acknowledge")["state"] == "cancelled"
    again = await system.http.post(f"{system.cases_url}/v1/whistles/{w['id']}/ack", json={}, headers=ps)
    assert again.status_code == 409


async def test_department_system_retrying_a_report_in_gets_the_first_answer(system):
    case_id, _ = await make_case(system, flags=[], category="consumer", people_involved=2)
    await act(system, "d001", case_id, "grade")
    await act(
        system, "d001", case_id, "whistle", {"departments": [{"code": "PS-DL", "role": "lead"}], "reason": "消费纠纷"}
    )
    ps = await dept_token(system, "ps-dl")
    w = next(
        x
        for x in (await system.http.get(f"{system.cases_url}/v1/whistles", headers=ps)).json()["items"]
        if x["case_id"] == case_id
    )
    url = f"{system.cases_url}/v1/whistles/{w['id']}/ack"
    first = await system.http.post(url, json={"note": "已报到"}, headers={**ps, "Idempotency-Key": "ack-1"})
    again = await system.http.post(url, json={"note": "已报到"}, headers={**ps, "Idempotency-Key": "ack-1"})
    assert first.status_code == again.status_code == 200 and first.json() == again.json()
    assert (
        await system.http.post(url, json={"note": "其他"}, headers={**ps, "Idempotency-Key": "ack-1"})
    ).status_code == 422
    assert (
        await system.http.post(url, json={"note": "已报到"}, headers=ps)
    ).status_code == 409  # no key: a plain repeat
    assert [t["action"] for t in (await case(system, case_id))["timeline"]].count("whistle_ack") == 1


async def test_merge_tells_the_moved_reports_phone_the_surviving_case_and_stops_its_whistles(system):
    snap = (
        await system.http.get(f"{system.intake_url}/v1/sync/pull", headers=await system.auth("w001", "dev-w001"))
    ).json()
    a, item_a = await make_case(system, flags=[], category="land")
    b, _ = await make_case(system, flags=[], category="land")
    await act(system, "d001", a, "grade")
    assert (
        await act(
            system, "d001", a, "whistle", {"departments": [{"code": "PS-DL", "role": "lead"}], "reason": "土地纠纷"}
        )
    ).status_code == 200
    r = await act(system, "d001", a, "merge", {"into": b, "reason": "同一土地纠纷"})
    assert r.status_code == 200, r.text
    merged = r.json()
    assert [(w["state"], w["return_reason"]) for w in merged["whistles"]] == [
        ("cancelled", f"已并入案件 {(await case(system, b))['number']}")
    ]
    assert all(d["state"] == "cancelled" for d in merged["deadlines"])
    ps = await dept_token(system, "ps-dl")
    mine = [
        w
        for w in (await system.http.get(f"{system.cases_url}/v1/whistles", headers=ps)).json()["items"]
        if w["case_id"] == a
    ]
    assert (
        await system.http.post(f"{system.cases_url}/v1/whistles/{mine[0]['id']}/ack", json={}, headers=ps)
    ).status_code == 409
    await system.drain()
    feed = await pull_all(system, snap["cursor"])
    last = [
        ch["data"]
        for ch in feed["changes"]
        if ch["type"] == "report.status" and ch["data"]["report_id"] == item_a["id"]
    ][-1]
    target = await case(system, b)
    assert (last["case_id"], last["case_number"], last["state"]) == (b, target["number"], target["state"])


async def test_downgrade_from_major_cancels_the_ten_minute_report_with_a_reason(system):
    case_id, _ = await make_case(system, flags=["weapons"])
    r = await act(system, "d001", case_id, "grade", {"level": "complex", "reason": "核实后未持械，仅口角"})
    assert r.status_code == 200, r.text
    (report_clock,) = [d for d in r.json()["deadlines"] if d["kind"] == "major_report"]
    assert report_clock["state"] == "cancelled" and "不再适用重大事项" in report_clock["cancel_reason"]
    r = await act(system, "d001", case_id, "grade", {"level": "major", "reason": "复核确认持械"})
    assert [d["state"] for d in r.json()["deadlines"] if d["kind"] == "major_report"] == ["cancelled", "pending"]
