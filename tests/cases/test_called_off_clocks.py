"""A breached clock whose work is no longer asked for (called off: cancel_reason set, never met) is over for
good: nothing meets it, pauses it or re-arms its ladder, it does not block a fresh clock of its kind, and
the digest and the overdue list no longer count it."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import text

from tests.cases.factories import graded_case, make_case, whistle
from tests.cases.helpers import act, case, dept_token, manual_clock, policy, run_sweep

LADDER = """
warn_at: []
escalation:
  - {after: 0, do: remind}
  - {after: 1, do: notice}
  - {after: 2, do: escalate}
"""
WEEKLY_UPDATE = "calendar: natural\ndeadlines:\n  update: {limit: 7d, start: assigned, repeat: true}\n" + LADDER
THREE_DAYS = "calendar: natural\ndeadlines:\n  resolve: {limit: 3d, start: whistled}\n" + LADDER
SERVICE = {"Authorization": "Bearer test-notify-token"}


async def clocks_of(system, case_id, kind):
    async with system.cases_app.state.db.unit_of_work() as s:
        return list(
            await s.execute(
                text("""SELECT id, state, met_at, cancel_reason, paused_at, next_fire_at, due_at FROM cases.deadlines
                    WHERE case_id = :c AND kind = :k ORDER BY created_at"""),
                {"c": uuid.UUID(case_id), "k": kind},
            )
        )


async def whistled(system, dept="PS-DL"):
    case_id = await graded_case(system)
    await whistle(system, case_id, lead=dept, reason="请牵头处理")
    return case_id


async def lead_returns(system, case_id):
    ps = await dept_token(system, "ps-dl")
    (w,) = [w for w in (await case(system, case_id))["whistles"] if w["department"] == "PS-DL"]
    r = await system.http.post(
        f"{system.cases_url}/v1/whistles/{w['id']}/return", json={"reason": "非本部门职责"}, headers=ps
    )
    assert r.status_code == 200, r.text


async def test_breached_weekly_update_called_off_by_resolve_does_not_come_back_as_a_second_weekly_clock_after_reopen(
    system, tmp_path
):
    with policy(system, WEEKLY_UPDATE, tmp_path), manual_clock() as clk:
        case_id, _ = await make_case(system, flags=[], category="neighbour", people_involved=2)
        number = (await case(system, case_id))["number"]
        assert (await act(system, "d001", case_id, "grade")).status_code == 200
        assert (
            await act(system, "d001", case_id, "assign", {"unit": "620602107201", "person": "w001"})
        ).status_code == 200
        clk.advance(days=7, minutes=1)
        await run_sweep(system)
        (old,) = await clocks_of(system, case_id, "update")
        assert old.state == "breached"
        assert (await act(system, "d001", case_id, "resolve", {"outcome": "mediated"})).status_code == 200
        assert (await act(system, "d001", case_id, "reopen", {"reason": "当事人反映未落实"})).status_code == 200
        for week in range(2):
            r = await act(system, "d001", case_id, "update", {"note": f"第{week + 1}次进展"})
            assert r.status_code == 200, r.text
            rows = await clocks_of(system, case_id, "update")
            assert [x.state for x in rows if x.state == "pending"] == ["pending"], rows  # one weekly clock, never two
            assert (
                rows[0].id == old.id
                and rows[0].state == "breached"
                and rows[0].met_at is None
                and rows[0].cancel_reason == "案件已办结"
            )
            clk.advance(days=6)
        # the called-off clock is no longer overdue: not in the overdue list, not in the morning digest
        listed = (
            await system.http.get(
                f"{system.cases_url}/v1/cases",
                params={"overdue": "true", "limit": 200},
                headers=await system.auth("d001"),
            )
        ).json()["items"]
        assert case_id not in {c["id"] for c in listed}
        digest = (
            await system.http.get(
                f"{system.cases_url}/internal/v1/digest", params={"cases_per_centre": 5000}, headers=SERVICE
            )
        ).json()
        township = next((c for c in digest["centres"] if c["area"] == "620602107"), {"overdue_cases": []})
        assert number not in township["overdue_cases"]


async def test_lead_returning_after_the_ladder_has_finished_gives_the_next_lead_fresh_three_days(system, tmp_path):
    with policy(system, THREE_DAYS, tmp_path), manual_clock() as clk:
        case_id = await whistled(system)
        clk.advance(days=9, minutes=1)  # breach at 3 d, remind, notice at 6 d, escalate at 9 d: the ladder is over
        await run_sweep(system)
        (old,) = await clocks_of(system, case_id, "resolve")
        assert old.state == "breached" and old.next_fire_at is None and old.cancel_reason is None
        await lead_returns(system, case_id)
        (old,) = await clocks_of(system, case_id, "resolve")
        assert old.cancel_reason == "牵头部门 PS-DL 退回：非本部门职责" and old.met_at is None
        r = await act(
            system,
            "d001",
            case_id,
            "whistle",
            {"departments": [{"code": "SF-DL", "role": "lead"}], "reason": "改由司法所牵头"},
        )
        assert r.status_code == 200, r.text
        resolves = [d for d in r.json()["deadlines"] if d["kind"] == "resolve"]
        assert [d["state"] for d in resolves] == ["breached", "pending"]
        assert datetime.fromisoformat(resolves[1]["due_at"]) == clk.now() + timedelta(days=3)


async def test_suspend_and_resume_do_not_rearm_the_ladder_of_a_called_off_clock(system, tmp_path):
    with policy(system, THREE_DAYS, tmp_path), manual_clock() as clk:
        case_id = await whistled(system)
        clk.advance(days=3, minutes=1)  # breached and reminded; the notice would come at 6 d
        await run_sweep(system)
        await lead_returns(system, case_id)
        (old,) = await clocks_of(system, case_id, "resolve")
        assert old.state == "breached" and old.cancel_reason and old.next_fire_at is None
        assert (
            await act(
                system,
                "d001",
                case_id,
                "whistle",
                {"departments": [{"code": "SF-DL", "role": "lead"}], "reason": "改由司法所牵头"},
            )
        ).status_code == 200
        assert (await act(system, "d001", case_id, "suspend", {"reason": "等待鉴定结果"})).status_code == 200
        clk.advance(hours=1)
        assert (await act(system, "d001", case_id, "resume")).status_code == 200
        old_now, new = await clocks_of(system, case_id, "resolve")
        assert old_now.id == old.id and old_now.next_fire_at is None and old_now.paused_at is None
        assert new.state == "pending" and new.next_fire_at is not None  # the fresh clock does resume
        clk.advance(days=3, hours=1)  # past where the old clock's (shifted) notice would have fired
        await run_sweep(system)
        async with system.cases_app.state.db.unit_of_work() as s:
            notices = (
                await s.execute(text("SELECT count(*) FROM cases.notices WHERE deadline_id = :d"), {"d": old.id})
            ).scalar()
        assert notices == 0
        (_, new) = await clocks_of(system, case_id, "resolve")
        assert new.state == "breached"  # the sweep did run: the fresh clock breached on time
