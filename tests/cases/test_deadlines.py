"""The clocks: warnings, breach and every ladder step exactly once; pause; extension; workdays; races."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from services.cases.deadline import jobs
from services.cases.deadline.jobs import sweep_once
from tests.cases.factories import graded_case, make_case, whistle
from tests.cases.helpers import act, case, cases_context, dept_token, manual_clock, policy, run_sweep

CST = ZoneInfo("Asia/Shanghai")


async def whistled_case(system, clk):
    case_id = await graded_case(system)
    await whistle(system, case_id, lead="PS-DL", reason="请派出所处理")
    return case_id


async def count_actions(system, case_id):
    tl = (await case(system, case_id, "admin"))["timeline"]
    out: dict[str, int] = {}
    for t in tl:
        out[t["action"]] = out.get(t["action"], 0) + 1
    return out


async def test_department_that_does_not_report_in_is_warned_breached_reminded_noticed_escalated_once_each(system):
    with manual_clock() as clk:
        case_id = await whistled_case(system, clk)
        ack = lambda c: next(d for d in c["deadlines"] if d["kind"] == "acknowledge")  # noqa: E731
        start_tier = (await case(system, case_id))["tier"]
        expectations = [
            (31, {"deadline_warning": 2}),  # contact 50% at 30 min, acknowledge 50% at 30 min
            (49, {"deadline_warning": 4}),
            (61, {"deadline_breached": 2, "remind": 2}),
            (121, {"notice": 2}),
            (181, {"escalate": 1, "escalation_held": 1}),  # both clocks breached together: one tier up, once
        ]
        elapsed = 0
        for minute, want in expectations:
            clk.advance(minutes=minute - elapsed)
            elapsed = minute
            await run_sweep(system)
            await run_sweep(system)  # a second pass fires nothing more
            counts = await count_actions(system, case_id)
            for action, n in want.items():
                assert counts.get(action, 0) == n, (minute, action, counts)
        c = await case(system, case_id)
        assert ack(c)["state"] == "breached"
        assert c["tier"] == {"village": "township", "township": "county", "county": "county"}[start_tier]
        numbers = [n["number"] for n in c["notices"]]
        assert len(numbers) == 2 and all(n.startswith("大柳镇督〔") and n.endswith("号") for n in numbers)
        assert sorted(n["unit"] for n in c["notices"]) == sorted(
            ["PS-DL", c["notices"][0]["unit"] if c["notices"][0]["unit"] != "PS-DL" else c["notices"][1]["unit"]]
        )
        assert "PS-DL" in {n["unit"] for n in c["notices"]} and any(
            n["unit"].startswith("620602") for n in c["notices"]
        )
        # Reporting in late meets the breached clock late and stops its ladder.
        ps = await dept_token(system)
        w = c["whistles"][0]
        assert (
            await system.http.post(f"{system.cases_url}/v1/whistles/{w['id']}/ack", json={}, headers=ps)
        ).status_code == 200
        c = await case(system, case_id)
        assert ack(c)["state"] == "breached" and ack(c)["met_at"] is not None
        await system.drain()
        async with system.services["notify"].app.state.db.unit_of_work() as s:
            rows = (
                await s.execute(
                    text("SELECT type, count(*) AS n FROM notify.events WHERE aggregate_id = :a GROUP BY type"),
                    {"a": case_id},
                )
            ).all()
        got = {r.type: r.n for r in rows}
        assert got["deadline.warning"] == 4 and got["deadline.breached"] == 2 and got["notice.issued"] == 2


async def test_notice_is_answered_only_by_its_unit_and_closed_by_the_issuing_centre(system):
    with manual_clock() as clk:
        case_id = await whistled_case(system, clk)
        clk.advance(hours=2, minutes=1)
        await run_sweep(system)
    ps = await dept_token(system)
    notices = (await system.http.get(f"{system.cases_url}/v1/notices", params={"state": "issued"}, headers=ps)).json()[
        "items"
    ]
    mine = [n for n in notices if n["case_id"] == case_id]
    assert len(mine) == 1 and mine[0]["unit"] == "PS-DL"
    dispatcher = await system.auth("d001")
    url = f"{system.cases_url}/v1/notices/{mine[0]['id']}"
    assert (await system.http.post(f"{url}/answer", json={"answer": "中心代答"}, headers=dispatcher)).status_code == 403
    assert (await system.http.post(f"{url}/close", json={}, headers=dispatcher)).status_code == 409  # not answered yet
    r = await system.http.post(
        f"{system.cases_url}/v1/notices/{mine[0]['id']}/answer", json={"answer": "已安排民警到场"}, headers=ps
    )
    assert r.status_code == 200 and r.json()["state"] == "answered"
    assert (
        await system.http.post(
            f"{system.cases_url}/v1/notices/{mine[0]['id']}/answer", json={"answer": "again"}, headers=ps
        )
    ).status_code == 409
    other = await dept_token(system, "ps-sch")
    assert (
        await system.http.post(
            f"{system.cases_url}/v1/notices/{mine[0]['id']}/answer", json={"answer": "x"}, headers=other
        )
    ).status_code == 404
    # the issuing centre closes the answered notice; the department, a leader and another township may not
    assert (await system.http.post(f"{url}/close", json={}, headers=ps)).status_code == 404
    assert (await system.http.post(f"{url}/close", json={}, headers=await system.auth("l001"))).status_code == 404
    assert (await system.http.post(f"{url}/close", json={}, headers=await system.auth("d101"))).status_code == 404
    r = await system.http.post(f"{url}/close", json={"note": "已核实整改到位"}, headers=dispatcher)
    assert r.status_code == 200 and r.json()["state"] == "closed" and r.json()["closed_by"] == "dispatcher:d001"
    assert (await system.http.post(f"{url}/close", json={}, headers=dispatcher)).status_code == 409
    closed = (await system.http.get(f"{system.cases_url}/v1/notices", params={"state": "closed"}, headers=ps)).json()[
        "items"
    ]
    assert mine[0]["id"] in {n["id"] for n in closed}
    assert "notice_close" in [t["action"] for t in (await case(system, case_id, "admin"))["timeline"]]


async def test_suspend_pauses_clocks_and_resume_shifts_them(system):
    with manual_clock() as clk:
        case_id = await whistled_case(system, clk)
        before = {d["kind"]: d for d in (await case(system, case_id))["deadlines"]}
        clk.advance(minutes=10)
        assert (await act(system, "d001", case_id, "suspend", {"reason": "当事人外出务工"})).status_code == 200
        clk.advance(hours=5)
        quiet = await count_actions(system, case_id)
        await run_sweep(system)
        assert await count_actions(system, case_id) == quiet  # nothing fires while suspended
        r = await act(system, "d001", case_id, "resume", {})
        assert r.status_code == 200 and r.json()["state"] == "in_progress"
        after = {d["kind"]: d for d in r.json()["deadlines"]}
        shift = datetime.fromisoformat(after["resolve"]["due_at"]) - datetime.fromisoformat(before["resolve"]["due_at"])
        assert shift == timedelta(hours=5)
        assert datetime.fromisoformat(after["acknowledge"]["due_at"]) - datetime.fromisoformat(
            before["acknowledge"]["due_at"]
        ) == timedelta(hours=5)


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"by": "9999999999d"}, "by"),
        ({"by": "400d"}, "by"),
        ({"by": "0s"}, "by"),
        ({"due_at": "9999-12-31T23:59:59+14:00"}, "due_at"),
        ({"due_at": "0001-01-01T00:00:00-14:00"}, "due_at"),
        ({"due_at": "2999-01-01T00:00:00+08:00"}, "due_at"),
    ],
)
async def test_absurd_extension_is_refused_422_with_the_field_and_changes_nothing(system, bad, field):
    case_id = await whistled_case(system, None)
    resolve = next(d for d in (await case(system, case_id))["deadlines"] if d["kind"] == "resolve")
    r = await act(
        system, "d001", case_id, "extend", {"deadline_id": resolve["id"], "reason": "测试", "approver": "镇长"} | bad
    )
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert any(e["loc"][-1] == field for e in r.json()["errors"]), r.json()
    after = next(d for d in (await case(system, case_id))["deadlines"] if d["kind"] == "resolve")
    assert after["due_at"] == resolve["due_at"] and after.get("extension") is None


async def test_extension_moves_one_deadline_once(system):
    with manual_clock():
        case_id = await whistled_case(system, None)
        resolve = next(d for d in (await case(system, case_id))["deadlines"] if d["kind"] == "resolve")
        body = {"deadline_id": resolve["id"], "by": "2d", "reason": "需等待鉴定结果", "approver": "镇长"}
        r = await act(system, "d001", case_id, "extend", body)
        assert r.status_code == 200, r.text
        moved = next(d for d in r.json()["deadlines"] if d["id"] == resolve["id"])
        assert datetime.fromisoformat(moved["due_at"]) - datetime.fromisoformat(resolve["due_at"]) == timedelta(days=2)
        assert moved["extension"]["approver"] == "镇长"
        again = await act(system, "d001", case_id, "extend", body | {"reason": "再次延期"})
        assert again.status_code == 409


WORKDAY_POLICY = """
calendar: workday
deadlines:
  contact:  {limit: 1h, start: received}
  acknowledge: {limit: 1h, start: whistled}
  resolve:  {limit: 3d, start: whistled}
warn_at: [0.5]
escalation: []
"""


async def test_workday_resolve_deadline_spans_national_day_and_counts_the_make_up_saturday(system, tmp_path):
    start = datetime(2026, 9, 30, 15, 0, tzinfo=CST)
    with policy(system, WORKDAY_POLICY, tmp_path), manual_clock(start.astimezone(UTC)):
        case_id = await whistled_case(system, None)
        resolve = next(d for d in (await case(system, case_id))["deadlines"] if d["kind"] == "resolve")
    # 30 Sep counts 9 h, 1–7 Oct are holidays, 8 and 9 Oct are working days, and Saturday 10 Oct is a
    # make-up working day (调休): 9 h + 24 h + 24 h + 15 h = 3 working days.
    assert datetime.fromisoformat(resolve["due_at"]).astimezone(CST) == datetime(2026, 10, 10, 15, 0, tzinfo=CST)
    assert resolve["calendar"] == "workday" and resolve["provisional"] is False


async def test_two_sweeps_racing_fire_each_step_once(system):
    with manual_clock() as clk:
        ids = [await whistled_case(system, clk) for _ in range(6)]
        clk.advance(minutes=61)
        db = system.cases_app.state.db
        deadlines = cases_context(system).domain.deadlines
        results = await asyncio.gather(*[sweep_once(db, deadlines, batch=3) for _ in range(4)])
        await run_sweep(system)
        assert sum(results) > 0
        for case_id in ids:
            counts = await count_actions(system, case_id)
            assert (
                counts.get("deadline_breached") == 2
                and counts.get("remind") == 2
                and counts.get("deadline_warning") == 4
            ), counts


async def test_sweep_killed_mid_batch_redoes_nothing_twice(system, monkeypatch):
    with manual_clock() as clk:
        ids = [await whistled_case(system, clk) for _ in range(3)]
        clk.advance(minutes=61)
        real_fire = jobs._fire
        calls = {"n": 0}

        async def dying_fire(*args, **kwargs):
            calls["n"] += 1
            if calls["n"] == 5:
                raise RuntimeError("process killed")  # the transaction dies with the process
            return await real_fire(*args, **kwargs)

        monkeypatch.setattr(jobs, "_fire", dying_fire)
        with pytest.raises(RuntimeError):
            await sweep_once(system.cases_app.state.db, cases_context(system).domain.deadlines, batch=500)
        monkeypatch.setattr(jobs, "_fire", real_fire)
        for case_id in ids:
            assert (await count_actions(system, case_id)).get("deadline_breached", 0) == 0
        await run_sweep(system)
        for case_id in ids:
            counts = await count_actions(system, case_id)
            assert counts.get("deadline_breached") == 2 and counts.get("deadline_warning") == 4, counts


async def test_deadline_dashboard_lists_only_what_the_caller_may_see(system):
    case_id, _ = await make_case(system, flags=[], category="other")
    mine = (
        await system.http.get(
            f"{system.cases_url}/v1/deadlines",
            params={"state": "pending", "limit": 500},
            headers=await system.auth("d001"),
        )
    ).json()["items"]
    assert any(d["case_id"] == case_id for d in mine)
    theirs = (
        await system.http.get(
            f"{system.cases_url}/v1/deadlines",
            params={"state": "pending", "limit": 500},
            headers=await system.auth("d101"),
        )
    ).json()["items"]
    assert not any(d["case_id"] == case_id for d in theirs)


async def test_every_deadline_ends_met_breached_or_cancelled(system):
    case_id = None
    with manual_clock():
        case_id = await whistled_case(system, None)
        await act(system, "d001", case_id, "reject", {"reason": "测试"})  # not allowed from assigned
        r = await act(
            system,
            "d001",
            case_id,
            "merge",
            {"into": (await make_case(system, flags=[], category="other"))[0], "reason": "重复上报"},
        )
        assert r.status_code == 200
    async with system.cases_app.state.db.unit_of_work() as s:
        states = {
            row.state
            for row in await s.execute(
                text("SELECT state FROM cases.deadlines WHERE case_id = :c"), {"c": uuid.UUID(case_id)}
            )
        }
    assert states <= {"met", "breached", "cancelled"}


async def test_morning_digest_lists_an_overdue_case_under_its_township_and_county_only(system):
    with manual_clock() as clk:
        case_id, _ = await make_case(system, flags=[], category="neighbour", people_involved=2)
        number = (await case(system, case_id))["number"]
        token = {"Authorization": "Bearer test-notify-token"}
        before = (await system.http.get(f"{system.cases_url}/internal/v1/digest", headers=token)).json()
        centre = next((c for c in before["centres"] if c["area"] == "620602107"), {"overdue_cases": []})
        assert number not in centre["overdue_cases"]
        clk.advance(minutes=61)  # the 1-hour contact clock has run out
        after = (
            await system.http.get(
                f"{system.cases_url}/internal/v1/digest", params={"cases_per_centre": 5000}, headers=token
            )
        ).json()
        centre = next(c for c in after["centres"] if c["area"] == "620602107")
        assert number in centre["overdue_cases"] and centre["overdue"] >= 1
        county = next(c for c in after["centres"] if c["area"] == "620602")
        assert number in county["overdue_cases"]
        other = next((c for c in after["centres"] if c["area"] == "620602108"), {"overdue_cases": []})
        assert number not in other["overdue_cases"]


GRADED_POLICY = """
calendar: natural
deadlines:
  contact:        {limit: 1h,  start: received}
  first_response: {limit: 2h,  start: graded}
warn_at: [0.5]
"""


async def test_a_policy_clock_starting_at_graded_starts_when_the_centre_grades(system, tmp_path):
    with policy(system, GRADED_POLICY, tmp_path), manual_clock() as clk:
        case_id, _ = await make_case(system, flags=[], category="neighbour", people_involved=2)
        assert {d["kind"] for d in (await case(system, case_id))["deadlines"]} == {"contact"}
        clk.advance(minutes=10)
        r = await act(system, "d001", case_id, "grade")
        assert r.status_code == 200
        (fr,) = [d for d in r.json()["deadlines"] if d["kind"] == "first_response"]
        assert fr["state"] == "pending"
        assert datetime.fromisoformat(fr["due_at"]) == clk.now() + timedelta(hours=2)
        r = await act(system, "d001", case_id, "grade", {"level": "complex", "reason": "复核"})
        assert len([d for d in r.json()["deadlines"] if d["kind"] == "first_response"]) == 1


async def test_case_whistle_and_deadline_events_name_the_responsible_person_and_every_reporter(system):
    from tests.cases.factories import make_case as new_case
    from tests.intake.factories import GRID_W002

    with manual_clock() as clk:
        case_id, _ = await new_case(system, flags=[], category="neighbour", people_involved=2)
        other, _ = await new_case(system, GRID_W002, flags=[], category="neighbour", people_involved=2)
        assert (await act(system, "d001", other, "merge", {"into": case_id, "reason": "同一纠纷"})).status_code == 200
        await act(system, "d001", case_id, "grade")
        assert (
            await act(system, "d001", case_id, "assign", {"unit": "620602107201", "person": "w001"})
        ).status_code == 200
        assert (
            await act(
                system,
                "d001",
                case_id,
                "whistle",
                {"departments": [{"code": "PS-DL", "role": "lead"}], "reason": "派出所牵头"},
            )
        ).status_code == 200
        clk.advance(hours=1, minutes=5)
        assert await run_sweep(system) > 0
        await system.drain()
    async with system.services["notify"].app.state.db.unit_of_work() as s:
        rows = {
            r.type: r.payload
            for r in await s.execute(
                text("SELECT type, payload FROM notify.events WHERE aggregate_id = :a ORDER BY received_at"),
                {"a": case_id},
            )
        }
    assert {"case.whistle", "deadline.breached"} <= set(rows), sorted(rows)
    assert rows["case.received"]["reporters"] == ["w001"] and rows["case.received"]["responsible_person"] is None
    for kind in ("case.whistle", "whistle.created", "deadline.breached", "deadline.reminded"):
        assert rows[kind]["reporters"] == ["w001", "w002"], (kind, rows[kind])
        assert rows[kind]["responsible_person"] == "w001", kind


VILLAGE_DISPATCHER = {
    "users": [
        {
            "username": "dv201",
            "name": "村中心调度员",
            "role": "dispatcher",
            "areas": ["620602107201"],
            "password": "demo-pass-1",
        }
    ]
}


async def test_notice_to_the_village_centre_is_answered_by_the_village_centre_not_by_the_supervising_township(system):
    admin = await system.auth("admin")
    imported = await system.http.post(f"{system.cases_url}/v1/admin/org", json=VILLAGE_DISPATCHER, headers=admin)
    assert imported.status_code == 200, imported.text
    try:
        await _village_centre_answers(system)
    finally:  # the village centre's dispatcher leaves again: other tests expect the township to be the nearest centre
        retired = {"users": [VILLAGE_DISPATCHER["users"][0] | {"active": False}]}
        assert (
            await system.http.post(f"{system.cases_url}/v1/admin/org", json=retired, headers=admin)
        ).status_code == 200
        await system.drain()


async def _village_centre_answers(system):
    with manual_clock() as clk:
        case_id, _ = await make_case(system, flags=[], category="neighbour", people_involved=2)
        assert (
            await act(system, "d001", case_id, "grade", {"tier": "village", "reason": "村级调处"})
        ).status_code == 200
        clk.advance(hours=2, minutes=1)  # the 1-hour contact clock: breached, then the supervision notice
        await run_sweep(system)
    (notice,) = [n for n in (await case(system, case_id))["notices"] if n["kind"] == "supervision"]
    assert (
        notice["unit"] == "620602107201" and notice["area"] == "620602107"
    )  # to the village centre, from the township
    url = f"{system.cases_url}/v1/notices/{notice['id']}"
    township, village = await system.auth("d001"), await system.auth("dv201")
    r = await system.http.post(f"{url}/answer", json={"answer": "镇中心代村答复"}, headers=township)
    assert r.status_code == 403 and r.headers["content-type"].startswith("application/problem+json")
    assert next(n for n in (await case(system, case_id))["notices"] if n["id"] == notice["id"])["state"] == "issued"
    r = await system.http.post(f"{url}/answer", json={"answer": "已联系当事人并上门调解"}, headers=village)
    assert r.status_code == 200 and r.json()["answered_by"] == "dispatcher:dv201"
    assert (
        await system.http.post(f"{url}/close", json={}, headers=village)
    ).status_code == 403  # the village did not issue it
    r = await system.http.post(f"{url}/close", json={"note": "已核实"}, headers=township)
    assert r.status_code == 200 and r.json()["state"] == "closed"
