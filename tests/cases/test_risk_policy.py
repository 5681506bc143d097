"""The risk rule of persons and households (风险户) is a policy file (RISK_POLICY_FILE): the project default,
a deployment's own file swapped in, and a file that cannot be used stopping the service at start."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from services.cases.config import CasesSettings
from services.cases.startup import start_domain
from services.cases.subject.policy import CaseCounts, RiskPolicyError, load_risk_policy
from tests.cases.factories import make_case
from tests.cases.helpers import cases_context
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
