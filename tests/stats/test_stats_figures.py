"""The evaluation figures (问效) of a scripted scenario on a moved clock, exactly: one department reports
in on time and one late, one revisit satisfied and one not, one mediation settled (by two mediators)
and one failed, one case escalated; scoping; ETag/304; bad parameters are 422 naming the parameter.

The scenario lives in its own township (测评镇), so the figures do not depend on other tests."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import pytest_asyncio
from sqlalchemy import text

from tests.cases.helpers import cases_context, run_sweep
from tests.intake.factories import id_number, phone, report
from tests.support import manual_clock

CST = ZoneInfo("Asia/Shanghai")
T0 = datetime(2031, 3, 10, 9, 0, tzinfo=CST)  # a Monday
TOWN, V1, V2 = "620602199", "620602199201", "620602199202"
G1, G2 = "620602199201-01", "620602199202-01"
PASSWORD = "demo-pass-1"

ORG = f"""
areas:
  - code: "620602"
    name: 凉州区
    level: county
    children:
      - code: "{TOWN}"
        name: 测评镇
        level: township
        children:
          - {{code: "{V1}", name: 东村, level: village, children: [{{code: "{G1}", name: 东村第一网格, level: grid}}]}}
          - {{code: "{V2}", name: 西村, level: village, children: [{{code: "{G2}", name: 西村第一网格, level: grid}}]}}
departments:
  - {{code: PS-CP, name: 测评派出所, kind: police, area: "{TOWN}"}}
  - {{code: SF-CP, name: 测评司法所, kind: justice, area: "{TOWN}"}}
users:
  - {{username: cp-w1, name: 网格员甲, role: grid_worker, areas: ["{G1}"], password: {PASSWORD}}}
  - {{username: cp-w2, name: 网格员乙, role: grid_worker, areas: ["{G2}"], password: {PASSWORD}}}
  - {{username: cp-d1, name: 调度员, role: dispatcher, areas: ["{TOWN}"], password: {PASSWORD}}}
  - {{username: cp-l1, name: 镇领导, role: leader, areas: ["{TOWN}"], password: {PASSWORD}}}
  - {{username: cp-s1, name: 派出所民警, role: department_staff, department: PS-CP, areas: ["{TOWN}"],
      password: {PASSWORD}}}
  - {{username: cp-s2, name: 司法所干部, role: department_staff, department: SF-CP, areas: ["{TOWN}"],
      password: {PASSWORD}}}
mediators:
  - {{code: M-CP-1, name: 调解员一, area: "{TOWN}", kind: professional, committee: 测评镇人民调解委员会}}
  - {{code: M-CP-2, name: 调解员二, area: "{V1}", kind: part_time}}
  - {{code: M-CP-9, name: 已退出调解员, area: "{TOWN}", kind: invited, active: false}}
"""


def patrol(grid: str) -> dict[str, Any]:
    when = (T0 + timedelta(hours=1)).isoformat()
    return report(kind="patrol", grid=grid, title="日常巡查", flags=[], parties=[], occurred_at=when, captured_at=when)


WORKER = {G1: ("cp-w1", "dev-cp-w1"), G2: ("cp-w2", "dev-cp-w2")}


class Scenario:
    def __init__(self, system: Any) -> None:
        self.system = system
        self.http = system.http
        self.cases: dict[str, str] = {}

    async def auth(self, user: str, device: str | None = None) -> dict[str, str]:
        return await self.system.auth(user, device)

    async def push(self, grid: str, items: list[dict[str, Any]]) -> None:
        user, device = WORKER[grid]
        resp = await self.http.post(
            f"{self.system.intake_url}/v1/sync/push",
            json={"device_id": device, "items": items},
            headers=await self.auth(user, device),
        )
        assert resp.status_code == 200 and all(r["status"] == "accepted" for r in resp.json()["results"]), resp.text
        await self.system.drain()

    async def new_case(self, name: str, grid: str) -> str:
        item = report(
            grid=grid,
            category="neighbour",
            title=f"邻里纠纷{name}",
            flags=[],
            people_involved=2,
            amount_cny="500.00",
            occurred_at=T0.isoformat(),
            captured_at=T0.isoformat(),
            parties=[{"name": f"当事人{name}", "id_number": id_number(), "phone": phone(), "role": "applicant"}],
        )
        await self.push(grid, [item])
        async with self.system.cases_app.state.db.unit_of_work() as s:
            case_id = (
                await s.execute(
                    text("SELECT CAST(case_id AS text) FROM cases.case_reports WHERE report_id = CAST(:r AS uuid)"),
                    {"r": item["id"]},
                )
            ).scalar()
        assert case_id
        self.cases[name] = case_id
        return case_id

    async def act(self, name: str, action: str, body: dict[str, Any] | None = None, user: str = "cp-d1") -> Any:
        resp = await self.http.post(
            f"{self.system.cases_url}/v1/cases/{self.cases[name]}/{action}",
            json=body or {},
            headers=await self.auth(user),
        )
        assert resp.status_code == 200, (action, resp.text)
        return resp.json()

    async def whistle_move(self, name: str, move: str, user: str) -> None:
        resp = await self.http.get(
            f"{self.system.cases_url}/v1/cases/{self.cases[name]}", headers=await self.auth("cp-d1")
        )
        whistle = resp.json()["whistles"][-1]
        resp = await self.http.post(
            f"{self.system.cases_url}/v1/whistles/{whistle['id']}/{move}", json={}, headers=await self.auth(user)
        )
        assert resp.status_code == 200, (move, resp.text)

    async def get(self, path: str, user: str = "cp-l1", **headers: str) -> Any:
        return await self.http.get(f"{self.system.cases_url}{path}", headers={**await self.auth(user), **headers})


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def scenario(system: Any) -> Any:
    from services.cases.org import service as org

    async with system.cases_app.state.db.unit_of_work() as session:
        await org.import_org(
            session, org.parse_document(ORG.encode(), "application/yaml"), cases_context(system).cipher
        )
    await system.drain()
    sc = Scenario(system)
    system._tokens.clear()  # tokens are minted on the moved clock below; none from before is valid then
    with manual_clock(T0) as clk:
        at = lambda minutes: clk.set(T0 + timedelta(minutes=minutes))  # noqa: E731
        for name, grid in (("A", G1), ("B", G2), ("C", G1), ("D", G2)):
            await sc.new_case(name, grid)
        at(5)
        for name in ("A", "B", "C"):
            await sc.act(name, "grade")
        await sc.act("A", "contact", {"note": "已电话联系"})
        await sc.act("C", "contact", {"note": "已电话联系"})
        await sc.act("A", "whistle", {"departments": [{"code": "PS-CP", "role": "lead"}], "reason": "派出所牵头"})
        await sc.act("B", "whistle", {"departments": [{"code": "SF-CP", "role": "lead"}], "reason": "司法所牵头"})
        at(10)
        await sc.act("C", "escalate", {"reason": "涉及两村，镇里协调"})
        at(12)
        await sc.act("C", "assign", {"unit": TOWN})
        at(15)
        await sc.whistle_move("A", "ack", "cp-s1")  # on time
        at(20)
        await sc.whistle_move("A", "progress", "cp-s1")
        await sc.act("C", "resolve", {"outcome": "administrative"})
        at(25)
        await sc.act("C", "reply", {"text": "已依法处理"})
        at(30)
        await sc.whistle_move("A", "done", "cp-s1")
        await sc.act("C", "revisit", {"satisfaction": "basically_satisfied"})
        at(35)
        await sc.act("A", "resolve", {"outcome": "mediated", "mediators": ["M-CP-1", "M-CP-2"]})
        await sc.act("C", "close")
        at(40)
        await sc.act("A", "reply", {"text": "已调解"})
        at(45)
        await sc.act("A", "revisit", {"satisfaction": "satisfied"})
        at(50)
        await sc.act("A", "close")
        at(70)
        await run_sweep(system)  # B's and D's contact, B's report-in breached
        at(90)
        await sc.whistle_move("B", "ack", "cp-s2")  # late
        at(95)
        await sc.whistle_move("B", "progress", "cp-s2")
        at(100)
        await sc.whistle_move("B", "done", "cp-s2")
        at(105)
        await sc.act("B", "resolve", {"outcome": "mediation_failed"})
        at(110)
        await sc.act("B", "reply", {"text": "调解不成，建议诉讼"})
        at(115)
        await sc.act("B", "revisit", {"satisfaction": "dissatisfied"})  # reopens B
        await sc.new_case("E", G1)  # its contact clock falls due within 24 hours
        await sc.push(G1, [patrol(G1), patrol(G1), patrol(G1)])
        await sc.push(G2, [patrol(G2)])
        at(120)
        sc.clock = clk
        try:
            yield sc
        finally:
            system._tokens.clear()  # minted in 2031: not valid once the clock is back


def rate(num: int, den: int) -> dict[str, Any]:
    return {"num": num, "den": den, "rate": round(num / den, 4) if den else None}


async def test_overview_counts_cases_clocks_and_patrols_of_the_township(scenario):
    resp = await scenario.get(f"/v1/stats/overview?area={TOWN}")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["area"] == TOWN
    assert body["cases"]["total"] == 5 and body["cases"]["open"] == 3
    assert body["cases"]["by_state"] == {"closed": 2, "in_progress": 1, "received": 2}
    assert body["cases"]["by_tier"] == {"village": 4, "township": 1}
    assert body["cases"]["by_channel"] == {"grid": 5}
    assert body["cases"]["by_category"] == {"neighbour": 5}
    assert body["overdue_now"] == 1  # D's contact, breached and still owed
    assert body["due_24h"] == 1  # E's contact
    assert body["patrols"] == {"today": 4, "workers_with_two_today": 1, "workers": 2}


async def test_sla_by_area_gives_each_village_its_exact_rates(scenario):
    resp = await scenario.get(f"/v1/stats/sla?group_by=area&area={TOWN}")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["from"] == "2031-03-01" and body["to"] == "2031-03-31" and body["group_by"] == "area"
    groups = {g["key"]: g for g in body["groups"]}
    assert list(groups) == [V1, V2]
    east, west = groups[V1], groups[V2]
    assert east["name"] == "东村" and east["cases"] == 3 and west["cases"] == 2
    assert east["on_time"]["contact"] == rate(2, 2)  # E's is not due yet
    assert west["on_time"]["contact"] == rate(0, 2)
    assert east["on_time"]["acknowledge"] == rate(1, 1) and west["on_time"]["acknowledge"] == rate(0, 1)
    assert east["on_time"]["resolve"] == rate(1, 1) and west["on_time"]["resolve"] == rate(1, 1)
    assert east["on_time"]["reply"] == rate(2, 2) and west["on_time"]["reply"] == rate(1, 1)
    assert east["on_time"]["revisit"] == rate(2, 2) and west["on_time"]["revisit"] == rate(1, 1)
    assert east["on_time"]["first_response"] == rate(1, 1) and west["on_time"]["first_response"] == rate(1, 1)
    assert east["on_time"]["major_report"] == rate(0, 0)
    assert east["resolution_rate"] == rate(2, 2) and west["resolution_rate"] == rate(0, 0)
    assert east["mediation_success_rate"] == rate(1, 1) and west["mediation_success_rate"] == rate(0, 1)
    assert east["satisfaction_rate"] == rate(2, 2) and west["satisfaction_rate"] == rate(0, 1)
    assert east["kept_at_tier_rate"] == rate(1, 2)  # C went up to the township


async def test_sla_by_department_counts_the_clocks_each_department_answered_for(scenario):
    body = (await scenario.get(f"/v1/stats/sla?group_by=department&area={TOWN}")).json()
    groups = {g["key"]: g for g in body["groups"]}
    assert set(groups) == {"PS-CP", "SF-CP"}
    ps, sf = groups["PS-CP"], groups["SF-CP"]
    assert ps["on_time"]["acknowledge"] == rate(1, 1) and sf["on_time"]["acknowledge"] == rate(0, 1)
    assert ps["on_time"]["resolve"] == rate(1, 1) and sf["on_time"]["resolve"] == rate(1, 1)
    assert ps["on_time"]["first_response"] == rate(1, 1) and sf["on_time"]["first_response"] == rate(1, 1)
    assert ps["on_time"]["contact"] == rate(0, 0)
    assert ps["cases"] == 1 and sf["cases"] == 1
    assert ps["mediation_success_rate"] == rate(1, 1) and sf["mediation_success_rate"] == rate(0, 1)
    assert ps["satisfaction_rate"] == rate(1, 1) and sf["satisfaction_rate"] == rate(0, 1)


async def test_the_township_leader_sees_the_figures_of_a_period_by_dates_or_times(scenario):
    same = await scenario.get(f"/v1/stats/sla?group_by=area&area={TOWN}&from=2031-03-10&to=2031-03-10T23:00:00%2B08:00")
    assert same.status_code == 200, same.text
    assert same.json()["from"] == "2031-03-10" and same.json()["to"] == "2031-03-10"
    other = (await scenario.get(f"/v1/stats/sla?group_by=area&area={TOWN}&from=2031-02-01&to=2031-02-28")).json()
    assert all(g["cases"] == 0 and g["on_time"]["contact"]["den"] == 0 for g in other["groups"])


async def test_subsidies_split_a_shared_settlement_and_pay_nothing_for_a_failed_one(scenario):
    resp = await scenario.get(f"/v1/stats/subsidies?month=2031-03&area={TOWN}")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["policy"] == {
        "ordinary": "200.00",
        "complex": "500.00",
        "major": "1000.00",
        "petition_backlog": "2000.00",
    }
    by = {m["code"]: m for m in body["mediators"]}
    assert by["M-CP-1"]["amount_cny"] == "100.00" and by["M-CP-1"]["cases"]["ordinary"] == 1
    assert by["M-CP-2"]["amount_cny"] == "100.00"
    assert "M-CP-9" not in by  # retired, nothing to pay
    assert body["total_cny"] == "200.00"
    sheet = await scenario.get(f"/v1/stats/subsidies?month=2031-03&area={TOWN}", Accept="text/csv")
    assert sheet.status_code == 200 and sheet.headers["content-type"].startswith("text/csv")
    lines = sheet.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("月份,调解员编码,姓名")
    assert "2031-03,M-CP-1,调解员一," in sheet.content.decode("utf-8-sig")
    assert any(line.startswith("2031-03,合计") and line.endswith("200.00") for line in lines)


async def test_resolve_naming_a_retired_or_unknown_mediator_is_422_naming_the_field(scenario):
    case_id = scenario.cases["B"]
    for codes, bad in ((["M-CP-9"], 0), (["M-CP-1", "NO-SUCH"], 1)):
        resp = await scenario.http.post(
            f"{scenario.system.cases_url}/v1/cases/{case_id}/resolve",
            json={"outcome": "mediated", "mediators": codes},
            headers=await scenario.auth("cp-d1"),
        )
        assert resp.status_code == 422, resp.text
        assert resp.json()["errors"][0]["loc"] == ["body", "mediators", bad]


async def test_a_department_sees_its_own_row_only_and_no_area_figures(scenario):
    resp = await scenario.get("/v1/stats/sla?group_by=department", user="cp-s1")
    assert resp.status_code == 200, resp.text
    assert [g["key"] for g in resp.json()["groups"]] == ["PS-CP"]
    assert (await scenario.get("/v1/stats/overview", user="cp-s1")).status_code == 404
    assert (await scenario.get("/v1/stats/sla?group_by=area", user="cp-s1")).status_code == 404
    assert (await scenario.get(f"/v1/stats/sla?group_by=department&area={TOWN}", user="cp-s1")).status_code == 404


async def test_another_townships_dispatcher_gets_404_and_their_own_figures_leave_ours_out(scenario):
    assert (await scenario.get(f"/v1/stats/overview?area={TOWN}", user="d001")).status_code == 404
    assert (await scenario.get(f"/v1/stats/subsidies?area={TOWN}", user="d001")).status_code == 404
    own = (await scenario.get("/v1/stats/sla?group_by=department", user="d001")).json()
    assert "PS-CP" not in {g["key"] for g in own["groups"]}
    county = (await scenario.get("/v1/stats/sla?group_by=area", user="l001")).json()
    assert TOWN in {g["key"] for g in county["groups"]}  # the county leader sees the township as a group
    mine = (await scenario.get("/v1/stats/overview", user="cp-d1")).json()
    assert mine["area"] == TOWN and mine["cases"]["total"] == 5


async def test_an_unchanged_poll_is_304_and_a_change_gives_a_new_etag(scenario):
    first = await scenario.get(f"/v1/stats/overview?area={TOWN}")
    tag = first.headers["etag"]
    assert tag.startswith('W/"')
    again = await scenario.get(f"/v1/stats/overview?area={TOWN}", **{"If-None-Match": tag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == tag
    sla = await scenario.get(f"/v1/stats/sla?area={TOWN}")
    assert (
        await scenario.get(f"/v1/stats/sla?area={TOWN}", **{"If-None-Match": sla.headers["etag"]})
    ).status_code == 304
    await scenario.push(G2, [patrol(G2)])
    changed = await scenario.get(f"/v1/stats/overview?area={TOWN}", **{"If-None-Match": tag})
    assert changed.status_code == 200 and changed.headers["etag"] != tag
    assert changed.json()["patrols"]["today"] == 5 and changed.json()["patrols"]["workers_with_two_today"] == 2


async def test_the_rollups_agree_with_a_recount_from_the_case_tables(scenario):
    before = (await scenario.get(f"/v1/stats/sla?group_by=area&area={TOWN}")).json()["groups"]
    async with scenario.system.cases_app.state.db.unit_of_work() as s:
        await s.execute(text("SELECT cases.stats_rebuild()"))
    after = (await scenario.get(f"/v1/stats/sla?group_by=area&area={TOWN}")).json()["groups"]
    assert after == before


@pytest.mark.parametrize(
    ("query", "loc"),
    [
        ("/v1/stats/sla?group_by=village", ["query", "group_by"]),
        ("/v1/stats/sla?from=2031-03-20&to=2031-03-01", ["query", "from"]),
        ("/v1/stats/sla?from=yesterday", ["query", "from"]),
        ("/v1/stats/sla?from=2031-01-01&to=2032-06-01", ["query", "to"]),
        ("/v1/stats/subsidies?month=2031-13", ["query", "month"]),
        ("/v1/stats/subsidies?month=2031-3", ["query", "month"]),
    ],
)
async def test_bad_parameters_are_422_naming_the_parameter(scenario, query, loc):
    resp = await scenario.get(query)
    assert resp.status_code == 422, resp.text
    assert resp.json()["errors"][0]["loc"] == loc


async def test_trend_gives_thirty_days_ending_today(scenario):
    body = (await scenario.get(f"/v1/stats/trend?area={TOWN}")).json()
    assert len(body["days"]) == 30 and body["days"][-1]["day"] == "2031-03-10"
    today = body["days"][-1]
    assert today["received"] == 5 and today["closed"] == 2
    assert today["on_time"]["den"] > 0


ROLLUPS = {  # each rollup summed over its slots, rows that add up to nothing left out
    "stats_counts": ("area_code, dim, value", "n"),
    "stats_pending": ("gtype, gcode, due_minute, kind", "n"),
    "stats_sla": ("gtype, gcode, day, kind", "on_time, late, breached, pending"),
    "stats_sla_months": ("gtype, gcode, month, kind", "on_time, late, breached, pending"),
    "stats_case_days": (
        "gtype, gcode, day",
        "received, res_den, res_num, med_den, med_num, closed, kept, rev_den, rev_num",
    ),
    "stats_case_months": (
        "gtype, gcode, month",
        "received, res_den, res_num, med_den, med_num, closed, kept, rev_den, rev_num",
    ),
    "stats_mediator_months": ("month, mediator_code, level, shared_by", "n"),
}


async def _rollups(s: Any) -> dict[str, list[Any]]:
    out = {}
    for table, (keys, counters) in ROLLUPS.items():
        sums = ", ".join(f"sum({c})" for c in counters.split(", "))
        nonzero = " OR ".join(f"sum({c}) <> 0" for c in counters.split(", "))
        rows = await s.execute(
            text(f"SELECT {keys}, {sums} FROM cases.{table} GROUP BY {keys} HAVING {nonzero} ORDER BY {keys}")
        )
        out[table] = [tuple(r) for r in rows]
    return out


async def _figures(scenario: Any) -> list[Any]:
    paths = (
        f"/v1/stats/overview?area={TOWN}",
        f"/v1/stats/sla?group_by=area&area={TOWN}",
        f"/v1/stats/sla?group_by=department&area={TOWN}",
        f"/v1/stats/sla?group_by=area&area={TOWN}&from=2030-04-01&to=2031-03-31",  # whole months and days
        "/v1/stats/subsidies?month=2031-03",
        f"/v1/stats/trend?area={TOWN}",
    )
    out = []
    for path in paths:
        body = (await scenario.get(path)).json()
        body.pop("as_of", None)
        out.append(body)
    return out


async def test_folding_the_deltas_changes_no_figure_and_the_folded_rollups_equal_a_recount(scenario):
    """Figures read with deltas not yet folded equal those after the fold; then every rollup (of every test's
    cases in this database, months too) equals a recount from the case tables."""
    from services.cases.stats import repository as stats_repo

    db = scenario.system.cases_app.state.db
    before = await _figures(scenario)
    async with db.unit_of_work() as s:  # deltas of two changes that cancel out, each committed on its own
        channel = (
            await s.execute(
                text("SELECT channel FROM cases.cases WHERE id = CAST(:c AS uuid)"), {"c": scenario.cases["A"]}
            )
        ).scalar_one()
        await s.execute(
            text("UPDATE cases.cases SET channel = 'hotline_12345' WHERE id = CAST(:c AS uuid)"),
            {"c": scenario.cases["A"]},
        )
    assert (await _figures(scenario)) != before  # the delta counts at once, unfolded
    async with db.unit_of_work() as s:
        await s.execute(
            text("UPDATE cases.cases SET channel = :ch WHERE id = CAST(:c AS uuid)"),
            {"c": scenario.cases["A"], "ch": channel},
        )
    async with db.unit_of_work() as s:
        assert (await s.execute(text("SELECT count(*) FROM cases.stats_deltas"))).scalar_one() > 0
    assert (await _figures(scenario)) == before
    async with db.unit_of_work() as s:
        while await stats_repo.fold(s, 7) > 0:  # small batches: a key folded over several of them
            pass
        assert (await s.execute(text("SELECT count(*) FROM cases.stats_deltas"))).scalar_one() == 0
    assert (await _figures(scenario)) == before
    async with db.unit_of_work() as s:
        folded = await _rollups(s)
        await s.execute(text("SELECT cases.stats_rebuild()"))
        recounted = await _rollups(s)
    for table in ROLLUPS:
        assert folded[table] == recounted[table], table
    assert (await _figures(scenario)) == before


async def test_a_whole_month_read_from_the_month_rollups_equals_its_days(scenario):
    """A month wholly in the period and before today's month is read from the month rollups: a month later,
    March by its month row gives what March read day by day (a period not starting on the 1st) gives."""
    from services.cases.stats import repository as stats_repo

    async with scenario.system.cases_app.state.db.unit_of_work() as s:
        while await stats_repo.fold(s, 1000) > 0:  # into the rollups (the month ones too); no figure changes
            pass
    clk, was = scenario.clock, scenario.clock.now()
    scenario.system._tokens.clear()
    clk.set(datetime(2031, 4, 15, 9, 0, tzinfo=CST))
    try:
        for group_by in ("area", "department"):
            base = f"/v1/stats/sla?group_by={group_by}&area={TOWN}&to=2031-03-31"
            whole = (await scenario.get(f"{base}&from=2031-03-01")).json()["groups"]
            days = (await scenario.get(f"{base}&from=2031-03-02")).json()["groups"]
            assert whole == days
            assert sum(g["on_time"]["contact"]["den"] + g["on_time"]["acknowledge"]["den"] for g in whole) >= 2
            assert group_by == "department" or sum(g["cases"] for g in whole) == 5
    finally:
        clk.set(was)
        scenario.system._tokens.clear()


async def test_folds_running_at_once_fold_each_delta_once(scenario):
    """Several folds at once (replicas ticking together) each take other deltas (SKIP LOCKED): every delta is
    folded exactly once, so no figure moves."""
    import asyncio

    from services.cases.stats.jobs import fold_deltas

    db = scenario.system.cases_app.state.db
    before = await _figures(scenario)
    for name in ("A", "B", "C", "D"):  # deltas that add up to nothing, each change committed on its own
        for channel in ("phone", "letter", "visit"):
            async with db.unit_of_work() as s:
                await s.execute(
                    text("UPDATE cases.cases SET channel = :ch WHERE id = CAST(:c AS uuid)"),
                    {"c": scenario.cases[name], "ch": channel},
                )
        async with db.unit_of_work() as s:
            await s.execute(
                text("UPDATE cases.cases SET channel = 'grid' WHERE id = CAST(:c AS uuid)"), {"c": scenario.cases[name]}
            )
    async with db.unit_of_work() as s:
        pending = (await s.execute(text("SELECT count(*) FROM cases.stats_deltas"))).scalar_one()
    folded = await asyncio.gather(*(fold_deltas(db, batch=5, rounds=10_000) for _ in range(4)))
    assert sum(folded) == pending and sum(1 for n in folded if n) >= 2
    async with db.unit_of_work() as s:
        assert (await s.execute(text("SELECT count(*) FROM cases.stats_deltas"))).scalar_one() == 0
    assert (await _figures(scenario)) == before
