"""The risk rule of persons and households (风险户) is a policy file (RISK_POLICY_FILE): the project default,
a deployment's own file swapped in, a file that cannot be used stopping the service at start, and the
scheduled visits (定期走访) of high-risk households it sets, on a moved clock."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from services.cases.config import CasesSettings
from services.cases.startup import start_domain
from services.cases.subject.jobs import issue_due_visits
from services.cases.subject.policy import CaseCounts, RiskPolicyError, load_risk_policy
from services.cases.subject.service import RiskChange, next_visit
from tests.cases.factories import make_case
from tests.cases.helpers import case, cases_context, manual_clock
from tests.intake.factories import id_number as new_id_number

STRICT = """
levels:
  high:
    - {count: cases, at_least: 2}
  low:
    - {count: open, at_least: 1}
otherwise: safe
"""


def counts(total: dict[str | None, int], open_: dict[str | None, int] | None = None) -> CaseCounts:
    return CaseCounts(total=total, open=open_ or {})


def test_the_default_rule_is_the_one_domain_md_describes():
    policy = load_risk_policy(None)
    assert policy.risk_of(counts({"major": 1}, {"major": 1})) == "high"
    assert policy.risk_of(counts({"ordinary": 3})) == "high"
    assert policy.risk_of(counts({"complex": 1}, {"complex": 1})) == "medium"
    assert policy.risk_of(counts({"ordinary": 2})) == "medium"
    assert policy.risk_of(counts({"ordinary": 1}, {"ordinary": 1})) == "low"
    assert policy.risk_of(counts({"major": 1})) == "safe"  # a closed major case alone leaves no risk
    assert policy.risk_of(counts({})) == "safe"


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("levels: {high: [{count: cases, at_least: 0}]}", "levels.high.0.at_least"),
        ("levels: {high: [{count: everything, at_least: 1}]}", "levels.high.0.count"),
        ("levels: {high: [{count: open, levels: [huge], at_least: 1}]}", "levels.high.0.levels.0"),
        ("levels: {severe: [{count: open, at_least: 1}]}", "levels.severe"),
        ("levels: {}\notherwise: calm", "otherwise"),
        ("levels: {}\nvisits: monthly", "visits"),
        ("levels: {}\nvisits: {high: monthly}", "visits"),
        ("levels: {}\nvisits: {high: 10m}", "visits"),
        ("levels: {}\nvisits: {severe: 30d}", "visits.severe"),
        ("levels: {}\nfrequency: 30d", "frequency"),
        ("levels: [high", "无法读取"),
    ],
)
def test_a_bad_risk_policy_is_refused_naming_the_field(tmp_path: Path, text: str, names: str):
    path = tmp_path / "risk.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RiskPolicyError) as err:
        load_risk_policy(str(path))
    assert names in str(err.value) and str(path) in str(err.value)


async def test_cases_refuses_to_start_with_a_bad_risk_policy_file(tmp_path: Path):
    path = tmp_path / "risk.yaml"
    path.write_text("levels: {high: [{count: cases}]}", encoding="utf-8")
    settings = CasesSettings(risk_policy_file=str(path))
    app: Any = SimpleNamespace(state=SimpleNamespace())
    with pytest.raises(RiskPolicyError, match=r"levels\.high\.0\.at_least"):
        await start_domain(app, SimpleNamespace(settings=settings))
    missing = CasesSettings(risk_policy_file=str(tmp_path / "absent.yaml"))
    with pytest.raises(RiskPolicyError, match=r"absent\.yaml"):
        await start_domain(app, SimpleNamespace(settings=missing))


async def subject_of(system: Any, name: str, user: str = "d001") -> dict[str, Any]:
    resp = await system.http.get(
        f"{system.cases_url}/v1/subjects", params={"limit": 500}, headers=await system.auth(user)
    )
    assert resp.status_code == 200, resp.text
    return next(s for s in resp.json()["items"] if s["name"] == name)


async def risk_warnings(system: Any, case_ids: list[str]) -> list[dict[str, Any]]:
    notices = (
        await system.http.get(
            f"{system.cases_url}/v1/notices",
            params={"kind": "risk_warning", "limit": 500},
            headers=await system.auth("d001"),
        )
    ).json()["items"]
    return [n for n in notices if n["case_id"] in case_ids]


async def test_two_ordinary_cases_make_a_medium_risk_person_by_default(system):
    party = [{"name": "默认规则某", "id_number": new_id_number(), "role": "applicant"}]
    ids = [
        (await make_case(system, flags=[], people_involved=2, category="neighbour", parties=party))[0] for _ in range(2)
    ]
    subject = await subject_of(system, "默认规则某")
    assert subject["risk"] == "medium" and subject["case_count"] == 2 and subject["open_cases"] == 2
    assert await risk_warnings(system, ids) == []


async def test_a_deployments_risk_policy_decides_the_level_and_the_risk_warning(system, tmp_path: Path):
    path = tmp_path / "risk.yaml"
    path.write_text(STRICT, encoding="utf-8")
    domain = cases_context(system).domain
    old = domain.risk
    domain.risk = load_risk_policy(str(path))
    try:
        party = [{"name": "严格规则某", "id_number": new_id_number(), "role": "applicant"}]
        first, _ = await make_case(system, flags=[], people_involved=2, category="neighbour", parties=party)
        assert (await subject_of(system, "严格规则某"))["risk"] == "low"  # no medium level in this file
        second, _ = await make_case(system, flags=[], people_involved=2, category="neighbour", parties=party)
        subject = await subject_of(system, "严格规则某")
        assert subject["risk"] == "high" and subject["case_count"] == 2
        warnings = await risk_warnings(system, [first, second])
        assert len(warnings) == 1 and warnings[0]["case_id"] == second and "严格规则某" in warnings[0]["subject"]
    finally:
        domain.risk = old


def test_visits_follow_the_risk_level():
    policy = load_risk_policy(None)
    assert policy.visits == {"high": timedelta(days=30)}
    now = datetime(2026, 11, 23, tzinfo=UTC)
    later = now + timedelta(days=12)

    def change(was: str, risk: str) -> RiskChange:
        return RiskChange(uuid.uuid4(), "某", None, 3, was, risk)

    assert next_visit(policy, change("medium", "high"), None, now) == now  # the first visit at once
    assert next_visit(policy, change("high", "high"), later, now) == later  # as scheduled
    assert next_visit(policy, change("high", "medium"), later, now) is None  # no longer visited


async def visit_tasks(system, cursor: str | None, case_ids: list[str]) -> tuple[list[dict[str, Any]], str]:
    """The worker's household-visit tasks for these cases among the changes since `cursor`, every page of them
    (other tests' changes share w001's feed)."""
    found: list[dict[str, Any]] = []
    while True:
        params = {"cursor": cursor, "limit": 500} if cursor else {}
        feed = (
            await system.http.get(
                f"{system.intake_url}/v1/sync/pull", params=params, headers=await system.auth("w001", "dev-w001")
            )
        ).json()
        found += [
            c["data"]
            for c in feed["changes"]
            if c["type"] == "task" and c["data"].get("kind") == "household_visit" and c["data"]["case_id"] in case_ids
        ]
        cursor = feed["cursor"]
        if not feed.get("has_more"):
            return found, cursor


async def test_a_high_risk_household_is_visited_monthly_and_the_phone_records_the_visit(system):
    ctx = cases_context(system)
    party = [{"name": "走访户某", "id_number": new_id_number(), "role": "applicant"}]
    with manual_clock() as clk:
        _, cursor = await visit_tasks(system, None, [])
        ids = [
            (await make_case(system, flags=[], people_involved=2, category="neighbour", parties=party))[0]
            for _ in range(3)
        ]
        assert (await subject_of(system, "走访户某"))["risk"] == "high"
        # several replicas ticking at once issue the first visit once
        await asyncio.gather(*(issue_due_visits(ctx.db, ctx.domain.risk) for _ in range(3)))
        await issue_due_visits(ctx.db, ctx.domain.risk)
        await system.drain()
        first, cursor = await visit_tasks(system, cursor, ids)
        assert len(first) == 1 and first[0]["case_id"] == ids[2] and "走访户某" in first[0]["title"]
        c = await case(system, ids[2], "admin")
        assert [t["action"] for t in c["timeline"]].count("household_visit") == 1

        clk.advance(days=29)
        await issue_due_visits(ctx.db, ctx.domain.risk)
        await system.drain()
        assert (await visit_tasks(system, cursor, ids))[0] == []
        clk.advance(days=1, minutes=1)
        await issue_due_visits(ctx.db, ctx.domain.risk)
        await issue_due_visits(ctx.db, ctx.domain.risk)
        await system.drain()
        second, cursor = await visit_tasks(system, cursor, ids)
        assert len(second) == 1 and second[0]["task_id"] != first[0]["task_id"]

        state = (await case(system, ids[2]))["state"]
        followup = {
            "id": str(uuid.uuid4()),
            "kind": "followup",
            "task_id": first[0]["task_id"],
            "case_id": ids[2],
            "satisfaction": "basically_satisfied",
            "notes": "户主情绪稳定，已落实包保责任人",
        }
        r = await system.http.post(
            f"{system.intake_url}/v1/sync/push",
            json={"device_id": "dev-w001", "items": [followup]},
            headers=await system.auth("w001", "dev-w001"),
        )
        assert r.json()["results"][0]["status"] == "accepted", r.text
        await system.drain()
        c = await case(system, ids[2], "admin")
        assert c["state"] == state and c["satisfaction"] is None  # a visit is no revisit of the case
        done = [t for t in c["timeline"] if t["action"] == "household_visit_done"]
        assert len(done) == 1 and "户主情绪稳定" in done[0]["note"]
