"""A department retired (撤销) by an org import leaves no case stuck on it: its open whistles are cancelled
with the reason (timeline, event, clocks called off), the case gets a new lead with fresh days, and the
supervising centre answers the notices addressed to it."""

from __future__ import annotations

import uuid

from sqlalchemy import text

from tests.cases.factories import import_org, make_case
from tests.cases.helpers import act, case, manual_clock, run_sweep

DEPT = {"name": "大柳原农机站", "kind": "agriculture", "area": "620602107"}


async def org_import(system, code, active):
    await import_org(system, {"departments": [DEPT | {"code": code, "active": active}]}, drain=False)


async def test_retiring_the_lead_department_cancels_its_whistle_and_the_case_takes_a_new_lead_with_fresh_days(system):
    code = f"RT{uuid.uuid4().hex[:6].upper()}"
    await org_import(system, code, True)
    with manual_clock() as clk:
        case_id, _ = await make_case(system, flags=[], category="neighbour", people_involved=2)
        assert (await act(system, "d001", case_id, "grade")).status_code == 200
        r = await act(
            system,
            "d001",
            case_id,
            "whistle",
            {
                "departments": [{"code": code, "role": "lead"}, {"code": "SF-DL", "role": "assist"}],
                "reason": "农机站牵头",
            },
        )
        assert r.status_code == 200, r.text
        first_due = next(d for d in r.json()["deadlines"] if d["kind"] == "resolve")["due_at"]
        clk.advance(hours=2, minutes=1)
        await run_sweep(system)  # the department never reported in: a supervision notice is addressed to it
        (notice,) = [n for n in (await case(system, case_id))["notices"] if n["unit"] == code]
        # before the retirement the centre may not answer for a live department
        url = f"{system.cases_url}/v1/notices/{notice['id']}"
        assert (
            await system.http.post(f"{url}/answer", json={"answer": "中心代答"}, headers=await system.auth("d001"))
        ).status_code == 403

        clk.advance(hours=1)
        await org_import(system, code, False)
        c = await case(system, case_id, "admin")
        assert {w["department"]: w["state"] for w in c["whistles"]} == {code: "cancelled", "SF-DL": "pending"}
        assert c["responsible"]["unit"] is None
        mine = [d for d in c["deadlines"] if d["department"] == code or d["kind"] == "resolve"]
        assert all(d["state"] == "cancelled" or d["cancel_reason"] for d in mine), mine
        assert any(
            d["kind"] == "acknowledge" and d["department"] == "SF-DL" and d["cancel_reason"] is None
            for d in c["deadlines"]
        )
        assert "whistle_cancel" in [t["action"] for t in c["timeline"]]
        await system.drain()
        async with system.services["notify"].app.state.db.unit_of_work() as s:
            events = [
                r.payload
                for r in await s.execute(
                    text("SELECT payload FROM notify.events WHERE aggregate_id = :a AND type = 'whistle.cancelled'"),
                    {"a": case_id},
                )
            ]
        assert [(e["department"], e["role"], e["note"]) for e in events] == [(code, "lead", f"部门 {code} 已撤销")]

        # the case is not stuck: a new lead is accepted and gets its own 3 days
        r = await act(
            system,
            "d001",
            case_id,
            "whistle",
            {"departments": [{"code": "PS-DL", "role": "lead"}], "reason": "改由派出所牵头"},
        )
        assert r.status_code == 200, r.text
        resolves = [d for d in r.json()["deadlines"] if d["kind"] == "resolve"]
        assert resolves[-1]["cancel_reason"] is None and resolves[-1]["due_at"] != first_due

        # the notice addressed to the retired department: the township centre answers and closes it
        d001 = await system.auth("d001")
        assert (
            await system.http.post(f"{url}/answer", json={"answer": "部门已撤销，改由派出所牵头"}, headers=d001)
        ).status_code == 200
        assert (
            await system.http.post(f"{url}/answer", json={"answer": "x"}, headers=await system.auth("d101"))
        ).status_code == 404
        assert (await system.http.post(f"{url}/close", json={}, headers=d001)).json()["state"] == "closed"

        # a second import of the same retirement changes nothing more
        await org_import(system, code, False)
        assert [t["action"] for t in (await case(system, case_id, "admin"))["timeline"]].count("whistle_cancel") == 1
        await (
            system.drain()
        )  # at the moved clock: the directory events made at it are due (later imports queue behind them)
