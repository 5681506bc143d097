"""The grading rules engine (分级研判): pure, no database. The default rules of DOMAIN.md, how several
matches combine, the tier a level leads to, and rules files replaced or broken without code changes."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from services.cases.grading import (
    DEFAULT_RULES_PATH,
    Grade,
    GradingFacts,
    GradingRulesError,
    RuleSet,
    load_rules,
)


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    return load_rules(None)


def facts(**kw: object) -> GradingFacts:
    kw.setdefault("kind", "dispute")
    kw.setdefault("category", "neighbour")
    return GradingFacts(**kw)  # type: ignore[arg-type]


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "grading.yaml"
    path.write_text(text, encoding="utf-8")
    return str(path)


# ── the default rules, one at a time ────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    ("flag", "reason"),
    [
        ("violence_threat", "存在暴力倾向风险标识"),
        ("weapons", "存在涉及凶器风险标识"),
        ("civil_to_criminal", "存在民转刑风险标识"),
        ("group_gathering", "存在群体聚集风险标识"),
        ("online_opinion", "存在网络舆情风险标识"),
    ],
)
def test_each_major_risk_flag_makes_a_major_case(rules: RuleSet, flag: str, reason: str) -> None:
    grade = rules.grade(facts(flags=[flag]))
    assert grade.level == "major"
    assert grade.reasons == [reason]
    assert grade.matched_rules == [flag]
    assert 0 <= grade.score <= 100
    assert grade.by == "rules"


def test_a_flag_that_raises_nothing_stays_ordinary(rules: RuleSet) -> None:
    grade = rules.grade(facts(flags=["mental_illness", "elderly_at_risk"]))
    assert grade.level == "ordinary"


def test_ten_or_more_people_make_a_major_case_with_the_count_in_the_reason(rules: RuleSet) -> None:
    grade = rules.grade(facts(people_involved=35))
    assert grade.level == "major"
    assert grade.reasons == ["涉及人数35人，达到重大标准(≥10人)"]
    assert rules.grade(facts(people_involved=10)).level == "major"
    assert rules.grade(facts(people_involved=9)).level == "ordinary"
    assert rules.grade(facts(people_involved=None)).level == "ordinary"


def test_wage_arrears_of_100000_cny_or_more_make_a_major_case(rules: RuleSet) -> None:
    grade = rules.grade(facts(category="wages", amount_cny=Decimal("120000.00")))
    assert grade.level == "major"
    assert grade.reasons == ["劳资欠薪涉及金额120000元，达到重大标准(≥100000元)"]
    assert rules.grade(facts(category="wages", amount_cny=Decimal("100000"))).level == "major"
    assert rules.grade(facts(category="wages", amount_cny=Decimal("99999.99"))).level == "ordinary"
    assert rules.grade(facts(category="wages", amount_cny=None)).level == "ordinary"


def test_large_amounts_outside_wages_are_not_major_by_amount(rules: RuleSet) -> None:
    assert rules.grade(facts(category="debt", amount_cny=Decimal("500000"))).level == "ordinary"


def test_the_amount_may_arrive_as_wire_text(rules: RuleSet) -> None:
    grade = rules.grade(facts(category="wages", amount_cny="150000.50"))  # type: ignore[arg-type]
    assert grade.level == "major"
    assert grade.reasons == ["劳资欠薪涉及金额150000.50元，达到重大标准(≥100000元)"]


def test_a_party_in_three_earlier_cases_makes_a_petition_backlog(rules: RuleSet) -> None:
    grade = rules.grade(facts(party_prior_cases=3))
    assert grade.level == "petition_backlog"
    assert grade.reasons == ["当事人已在3起以往案件中出现，列为信访积案"]
    assert rules.grade(facts(party_prior_cases=2)).level == "ordinary"


@pytest.mark.parametrize(
    ("kw", "rule", "reason"),
    [
        ({"party_villages": 2}, "cross_village", "当事人分属2个村(社区)，属跨村纠纷"),
        ({"departments_needed": 3}, "several_departments", "需3个部门协同处置(≥2个)"),
        ({"party_open_cases": 1}, "party_in_open_case", "当事人已涉及1起在办案件"),
    ],
)
def test_complex_rules(rules: RuleSet, kw: dict[str, int], rule: str, reason: str) -> None:
    grade = rules.grade(facts(**kw))
    assert grade.level == "complex"
    assert grade.matched_rules == [rule]
    assert grade.reasons == [reason]


def test_one_village_one_department_no_open_case_is_not_complex(rules: RuleSet) -> None:
    grade = rules.grade(facts(party_villages=1, departments_needed=1, party_open_cases=0))
    assert grade.level == "ordinary"


def test_nothing_matching_is_ordinary_with_a_reason(rules: RuleSet) -> None:
    grade = rules.grade(facts())
    assert grade.level == "ordinary"
    assert grade.reasons == ["未触发升级规则，按普通纠纷处理"]
    assert grade.matched_rules == []
    assert grade.tier == "village"


# ── several matches ─────────────────────────────────────────────────────────────────────────


def test_several_matches_keep_every_reason_strongest_first(rules: RuleSet) -> None:
    grade = rules.grade(
        facts(
            category="wages",
            people_involved=35,
            amount_cny=Decimal("300000"),
            flags=["group_gathering"],
            party_prior_cases=4,
            party_villages=3,
        )
    )
    assert grade.level == "major"
    assert grade.matched_rules == [
        "group_gathering",
        "many_people",
        "large_wage_arrears",
        "repeat_party",
        "cross_village",
    ]
    assert grade.reasons == [
        "存在群体聚集风险标识",
        "涉及人数35人，达到重大标准(≥10人)",
        "劳资欠薪涉及金额300000元，达到重大标准(≥100000元)",
        "当事人已在4起以往案件中出现，列为信访积案",
        "当事人分属3个村(社区)，属跨村纠纷",
    ]
    assert grade.score == 90  # the highest matching score


def test_petition_backlog_outranks_complex(rules: RuleSet) -> None:
    grade = rules.grade(facts(party_prior_cases=5, party_open_cases=2, departments_needed=2))
    assert grade.level == "petition_backlog"
    assert len(grade.reasons) == 3
    assert grade.reasons[0].startswith("当事人已在5起")


def test_a_stronger_grade_scores_higher(rules: RuleSet) -> None:
    ordinary = rules.grade(facts()).score
    complex_ = rules.grade(facts(party_villages=2)).score
    backlog = rules.grade(facts(party_prior_cases=3)).score
    major = rules.grade(facts(flags=["weapons"])).score
    assert ordinary < complex_ < backlog < major


# ── tiers (分级分流) ─────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    ("kw", "level", "tier", "inform_county", "joint_with"),
    [
        ({}, "ordinary", "village", False, None),
        ({"departments_needed": 2}, "complex", "township", False, None),
        ({"flags": ["violence_threat"]}, "major", "township", True, None),
        ({"party_prior_cases": 3}, "petition_backlog", "county", False, "township"),
    ],
)
def test_the_level_decides_the_tier(
    rules: RuleSet, kw: dict[str, object], level: str, tier: str, inform_county: bool, joint_with: str | None
) -> None:
    grade = rules.grade(facts(**kw))
    assert (grade.level, grade.tier, grade.inform_county, grade.joint_with) == (level, tier, inform_county, joint_with)


def test_the_tier_of_a_level_is_policy_in_the_rules_file(tmp_path: Path) -> None:
    """A deployment that sends complex cases to the county and handles major ones jointly with the county
    changes the file, not the code; a level it leaves out keeps its default."""
    text = Path(DEFAULT_RULES_PATH).read_text(encoding="utf-8")
    head, _ = text.split("\ntiers:", 1)
    custom = load_rules(
        write(
            tmp_path,
            head
            + "\ntiers:\n  complex: {tier: county}\n"
            + "  major: {tier: township, inform_county: true, joint_with: county}\n",
        )
    )
    complex_ = custom.grade(facts(departments_needed=2))
    assert (complex_.level, complex_.tier, complex_.joint_with) == ("complex", "county", None)
    major = custom.grade(facts(flags=["weapons"]))
    assert (major.tier, major.inform_county, major.joint_with) == ("township", True, "county")
    backlog = custom.grade(facts(party_prior_cases=4))  # not restated: the default
    assert (backlog.tier, backlog.joint_with) == ("county", "township")


@pytest.mark.parametrize(
    ("tiers", "message"),
    [
        ("  ordinary: {tier: city}", "tiers.ordinary.tier"),
        ("  serious: {tier: county}", "tiers.serious"),
        ("  complex: {tier: township, joint_with: township}", "is the tier itself"),
        ("  complex: {tier: township, handled_by: x}", "handled_by"),
    ],
)
def test_a_broken_tier_section_is_refused_at_load_naming_it(tmp_path: Path, tiers: str, message: str) -> None:
    head, _ = Path(DEFAULT_RULES_PATH).read_text(encoding="utf-8").split("\ntiers:", 1)
    with pytest.raises(GradingRulesError, match=message):
        load_rules(write(tmp_path, head + "\ntiers:\n" + tiers + "\n"))


def test_a_grade_serialises_for_the_api(rules: RuleSet) -> None:
    dumped = rules.grade(facts(people_involved=12)).model_dump(mode="json")
    assert dumped["level"] == "major" and dumped["by"] == "rules"
    assert Grade.model_validate(dumped).reasons == ["涉及人数12人，达到重大标准(≥10人)"]


# ── the file is data ────────────────────────────────────────────────────────────────────────


def test_none_and_empty_path_load_the_project_default() -> None:
    assert load_rules(None).source == DEFAULT_RULES_PATH
    assert load_rules("").source == DEFAULT_RULES_PATH
    assert load_rules(DEFAULT_RULES_PATH).rules == load_rules(None).rules


def test_a_custom_rules_file_changes_the_outcome_without_code_changes(tmp_path: Path) -> None:
    custom = load_rules(
        write(
            tmp_path,
            """
version: 1
rules:
  - id: hazard_with_elderly
    when:
      all:
        - {field_eq: {kind: hazard}}
        - any:
            - {any_flag: [elderly_at_risk, minors_at_risk]}
            - {field_gte: {people_involved: 5}}
    level: major
    score: 88
    reason: 隐患涉及老人或儿童安全(类型{kind}，人数{people_involved})
  - id: land_not_small
    when:
      all:
        - {category_in: [land, expropriation]}
        - not: {field_gte: {amount_cny: 1000}}
    level: ordinary
    score: 5
    reason: 土地小额纠纷({amount_cny:,}元)
  - id: land
    when: {category_in: [land, expropriation]}
    level: complex
    score: 50
    reason: 土地类纠纷一律按复杂处理
default: {level: ordinary, score: 0, reason: 其他}
""",
        )
    )
    default = load_rules(None)

    hazard = GradingFacts(kind="hazard", category=None, flags=["elderly_at_risk"])
    assert default.grade(hazard).level == "ordinary"
    graded = custom.grade(hazard)
    assert (graded.level, graded.score, graded.tier) == ("major", 88, "township")
    assert graded.reasons == ["隐患涉及老人或儿童安全(类型hazard，人数未知)"]

    land = facts(category="land", amount_cny=Decimal("5000"))
    assert default.grade(land).level == "ordinary"
    assert custom.grade(land).level == "complex"

    small_land = facts(category="land", amount_cny=Decimal("800"))
    graded = custom.grade(small_land)
    assert graded.level == "ordinary"  # the first matching rule wins…
    assert graded.reasons == ["土地小额纠纷(800元)", "土地类纠纷一律按复杂处理"]  # …every reason stays
    assert graded.score == 50

    # A case the default calls major is only what the custom file says it is.
    assert custom.grade(facts(flags=["weapons"])).level == "ordinary"
    assert custom.grade(facts(flags=["weapons"])).reasons == ["其他"]


def test_an_empty_rule_list_grades_everything_with_the_default(tmp_path: Path) -> None:
    rules = load_rules(write(tmp_path, "rules: []\ndefault: {level: complex, score: 40, reason: 先由乡镇研判}\n"))
    grade = rules.grade(facts(flags=["weapons"]))
    assert (grade.level, grade.tier, grade.reasons) == ("complex", "township", ["先由乡镇研判"])


GOOD_DEFAULT = "default: {level: ordinary, score: 0, reason: 普通}\n"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "rules:\n  - {id: ok, when: {any_flag: [weapons]}, level: major, score: 90, reason: a}\n"
            "  - {id: wages, when: {field_gte: {amont_cny: 1}}, level: major, score: 90, reason: b}\n",
            ["rules[1] (id 'wages')", "when.field_gte", "'amont_cny'"],
        ),
        (
            "rules:\n  - {id: x, when: {any_flag: [weapons]}, level: huge, score: 90, reason: a}\n",
            ["rules[0] (id 'x')", "field level", "'major'"],
        ),
        (
            "rules:\n  - {id: x, when: {any_flag: [weapons]}, level: major, score: 101, reason: a}\n",
            ["rules[0] (id 'x')", "field score", "100"],
        ),
        (
            "rules:\n  - {id: x, when: {any_flag: [weapon]}, level: major, score: 90, reason: a}\n",
            ["rules[0] (id 'x')", "when.any_flag", "unknown flag 'weapon'"],
        ),
        (
            "rules:\n"
            "  - {id: x, when: {all: [{any_flag: [weapons]}, {exec: rm}]}, level: major, score: 9, reason: a}\n",
            ["rules[0] (id 'x')", "when.all[1]", "unknown operator 'exec'"],
        ),
        (
            "rules:\n"
            "  - {id: x, when: {any_flag: [weapons], category_in: [land]}, level: major, score: 9, reason: a}\n",
            ["rules[0] (id 'x')", "exactly one operator"],
        ),
        (
            "rules:\n  - {id: x, when: {field_eq: {people_involved: many}}, level: major, score: 9, reason: a}\n",
            ["rules[0] (id 'x')", "when.field_eq", "whole number"],
        ),
        (
            "rules:\n  - {id: x, when: {any_flag: [weapons]}, level: major, score: 9, reason: '{kind.__class__}'}\n",
            ["rules[0] (id 'x')", "field reason", "unknown placeholder"],
        ),
        (
            "rules:\n  - {id: x, when: {any_flag: [weapons]}, level: major, score: 9, reason: a}\n"
            "  - {id: x, when: {any_flag: [weapons]}, level: major, score: 9, reason: b}\n",
            ["field rules", "'x' is used twice"],
        ),
        (
            "rules:\n  - {when: {any_flag: [weapons]}, level: major, score: 9, reason: a}\n",
            ["rules[0]", "field id", "required"],
        ),
    ],
)
def test_a_malformed_file_names_the_rule_and_the_field(tmp_path: Path, body: str, expected: list[str]) -> None:
    path = write(tmp_path, body + GOOD_DEFAULT)
    with pytest.raises(GradingRulesError) as caught:
        load_rules(path)
    message = str(caught.value)
    assert message.startswith(path)
    for part in expected:
        assert part in message, message


def test_a_file_without_a_default_is_refused(tmp_path: Path) -> None:
    with pytest.raises(GradingRulesError, match="field default: Field required"):
        load_rules(write(tmp_path, "rules: []\n"))


def test_broken_yaml_and_missing_files_are_clear(tmp_path: Path) -> None:
    with pytest.raises(GradingRulesError, match="not valid YAML"):
        load_rules(write(tmp_path, "rules: [\n  - {id: x\n"))
    with pytest.raises(GradingRulesError, match="is a mapping"):
        load_rules(write(tmp_path, "- just\n- a list\n"))
    with pytest.raises(GradingRulesError, match="cannot read"):
        load_rules(str(tmp_path / "missing.yaml"))
