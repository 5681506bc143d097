"""The grading rules engine (分级研判): a rules file in, a grade with its score and reasons out.

Pure: no database, no clock, no I/O except reading the rules file. The rules are data
(`rules.yaml` here, replaced by a deployment through GRADING_RULES_FILE); this module only
interprets a small condition language — nothing in a rules file is ever evaluated as Python.

Reading of a file: rules are ordered, strongest first. The first matching rule decides the level,
every matching rule contributes its reason (file order), the score is the highest matching score;
nothing matching gives the file's `default`.
"""

from __future__ import annotations

import contextlib
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import PydanticCustomError

from shared.contracts.events import REPORT_KINDS, RISK_FLAGS

DEFAULT_RULES_PATH = str(Path(__file__).with_name("rules.yaml"))

Level = Literal["ordinary", "complex", "major", "petition_backlog"]
Tier = Literal["village", "township", "county"]

# The risk-flag vocabulary of a report (DOMAIN.md "What comes in"). A rule naming any other flag is
# refused at load time: a misspelt flag would otherwise silently switch a safety rule off.
KNOWN_FLAGS = frozenset(RISK_FLAGS)
KNOWN_KINDS = frozenset(REPORT_KINDS)
TEXT_FIELDS = frozenset({"kind", "category"})
NUMBER_FIELDS = frozenset(
    {
        "people_involved",
        "amount_cny",
        "party_prior_cases",
        "party_open_cases",
        "party_villages",
        "departments_needed",
    }
)
OPERATORS = ("any_flag", "category_in", "field_gte", "field_eq", "all", "any", "not")
UNKNOWN_VALUE = "未知"

LEVELS: tuple[Level, ...] = ("ordinary", "complex", "major", "petition_backlog")


class GradingRulesError(ValueError):
    """A rules file that cannot be used; the message names the file, the rule and the field."""


@dataclass(frozen=True)
class GradingFacts:
    """What a grade is decided from: the report's fields and the parties' history."""

    kind: str
    category: str | None = None
    flags: list[str] | tuple[str, ...] = ()
    people_involved: int | None = None
    amount_cny: Decimal | None = None
    party_prior_cases: int = 0  # the most earlier cases any one party appears in
    party_open_cases: int = 0  # open cases any party is already a party in
    party_villages: int = 0  # distinct villages of the parties; 0 when unknown
    departments_needed: int = 0

    def __post_init__(self) -> None:
        # The wire carries money as text ("120000.00"); compare it as a Decimal, never a float.
        if self.amount_cny is not None and not isinstance(self.amount_cny, Decimal):
            object.__setattr__(self, "amount_cny", Decimal(str(self.amount_cny)))
        object.__setattr__(self, "flags", tuple(self.flags or ()))


class Grade(BaseModel):
    """A grade with its explanation. `inform_county`: the county centre is told at once besides the
    handling tier (a `major` case); `joint_with`: a tier that handles the case together with `tier`."""

    model_config = ConfigDict(frozen=True)

    level: Level
    score: int = Field(ge=0, le=100)
    reasons: list[str]
    tier: Tier
    inform_county: bool = False
    joint_with: Tier | None = None
    matched_rules: list[str] = Field(default_factory=list)
    by: Literal["rules"] = "rules"


# ── the file's shape ──────────────────────────────────────────────────────────────────────────


def _fail(message: str) -> PydanticCustomError:
    return PydanticCustomError("grading_rules", message)


class Condition(BaseModel):
    """One operator: any_flag, category_in, field_gte, field_eq, all, any or not."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    any_flag: list[str] | None = Field(default=None, min_length=1)
    category_in: list[str] | None = Field(default=None, min_length=1)
    field_gte: dict[str, Decimal] | None = Field(default=None, min_length=1)
    field_eq: dict[str, str | int] | None = Field(default=None, min_length=1)
    all_: list[Condition] | None = Field(default=None, alias="all", min_length=1)
    any_: list[Condition] | None = Field(default=None, alias="any", min_length=1)
    not_: Condition | None = Field(default=None, alias="not")

    @model_validator(mode="before")
    @classmethod
    def _one_operator(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            raise _fail(f"a condition is a mapping with one operator ({', '.join(OPERATORS)}), got {data!r}")
        unknown = [k for k in data if k not in OPERATORS]
        if unknown:
            raise _fail(f"unknown operator {unknown[0]!r}; expected one of {', '.join(OPERATORS)}")
        if len(data) != 1:
            raise _fail(
                f"a condition has exactly one operator, got {', '.join(map(str, data))}; combine them with all: [...]"
            )
        return data

    @field_validator("any_flag")
    @classmethod
    def _known_flags(cls, value: list[str] | None) -> list[str] | None:
        for flag in value or ():
            if flag not in KNOWN_FLAGS:
                raise _fail(f"unknown flag {flag!r}; expected one of {', '.join(sorted(KNOWN_FLAGS))}")
        return value

    @field_validator("field_gte")
    @classmethod
    def _number_fields(cls, value: dict[str, Decimal] | None) -> dict[str, Decimal] | None:
        for name in value or {}:
            if name not in NUMBER_FIELDS:
                raise _fail(
                    f"field_gte compares numbers; unknown field {name!r}, "
                    f"expected one of {', '.join(sorted(NUMBER_FIELDS))}"
                )
        return value

    @field_validator("field_eq", mode="before")
    @classmethod
    def _eq_fields(cls, value: Any) -> Any:
        if not isinstance(value, Mapping):
            return value  # the type check reports it
        for name, expected in value.items():
            if name in TEXT_FIELDS:
                if not isinstance(expected, str):
                    raise _fail(f"field_eq.{name} must be text, got {expected!r}")
                if name == "kind" and expected not in KNOWN_KINDS:
                    raise _fail(f"unknown kind {expected!r}; expected one of {', '.join(sorted(KNOWN_KINDS))}")
            elif name in NUMBER_FIELDS:
                if isinstance(expected, bool) or not isinstance(expected, int):
                    raise _fail(f"field_eq.{name} must be a whole number, got {expected!r}")
            else:
                known = ", ".join(sorted(TEXT_FIELDS | NUMBER_FIELDS))
                raise _fail(f"unknown field {name!r}; expected one of {known}")
        return value

    def holds(self, facts: GradingFacts) -> bool:
        if self.any_flag is not None:
            return not set(self.any_flag).isdisjoint(facts.flags)
        if self.category_in is not None:
            return facts.category in self.category_in
        if self.field_gte is not None:
            return all(
                (actual := getattr(facts, name)) is not None and actual >= threshold
                for name, threshold in self.field_gte.items()
            )
        if self.field_eq is not None:
            return all(getattr(facts, name) == expected for name, expected in self.field_eq.items())
        if self.all_ is not None:
            return all(c.holds(facts) for c in self.all_)
        if self.any_ is not None:
            return any(c.holds(facts) for c in self.any_)
        if self.not_ is not None:
            return not self.not_.holds(facts)
        raise AssertionError("a validated condition has one operator")


_SAMPLE_VALUES: dict[str, Any] = dict.fromkeys(NUMBER_FIELDS, 1) | {
    "amount_cny": Decimal("1"),
    "kind": "dispute",
    "category": "other",
}


def _check_template(template: str) -> str:
    """Only plain placeholders naming a fact, with an optional format spec that works for it."""
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise _fail(f"reason template {template!r} is malformed: {exc}") from None
    for _, name, spec, conversion in parts:
        if name is None:
            continue
        if name not in _SAMPLE_VALUES:
            known = ", ".join("{" + n + "}" for n in sorted(_SAMPLE_VALUES))
            raise _fail(f"reason template uses unknown placeholder {{{name}}}; expected one of {known}")
        if conversion:
            raise _fail(f"reason template placeholder {{{name}!{conversion}}}: conversions are not allowed")
        try:
            format(_SAMPLE_VALUES[name], spec or "")
        except (ValueError, TypeError) as exc:
            raise _fail(f"reason template placeholder {{{name}:{spec}}}: bad format spec ({exc})") from None
    return template


class Outcome(BaseModel):
    model_config = ConfigDict(extra="forbid")

    level: Level
    score: int = Field(ge=0, le=100)
    reason: str = Field(min_length=1)

    @field_validator("reason")
    @classmethod
    def _template(cls, value: str) -> str:
        return _check_template(value)


class TierOfLevel(BaseModel):
    """分级分流: the handling tier a level goes to, whether the county centre is told at once, and the
    tier that handles it jointly (both centres handle the case)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tier: Tier
    inform_county: bool = False
    joint_with: Tier | None = None

    @model_validator(mode="after")
    def _joint_elsewhere(self) -> TierOfLevel:
        if self.joint_with == self.tier:
            raise _fail(f"joint_with {self.joint_with!r} is the tier itself")
        return self


# The default tier of each level (DOMAIN.md "Grading"); a rules file may restate any of them under `tiers:`.
DEFAULT_TIERS: dict[str, TierOfLevel] = {
    "ordinary": TierOfLevel(tier="village"),
    "complex": TierOfLevel(tier="township"),
    "major": TierOfLevel(tier="township", inform_county=True),
    "petition_backlog": TierOfLevel(tier="county", joint_with="township"),
}


class Rule(Outcome):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)
    when: Condition


class RulesFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: Literal[1] = 1
    rules: list[Rule]
    default: Outcome
    tiers: dict[Level, TierOfLevel] = Field(default_factory=dict)

    @field_validator("rules")
    @classmethod
    def _unique_ids(cls, rules: list[Rule]) -> list[Rule]:
        seen: set[str] = set()
        for rule in rules:
            if rule.id in seen:
                raise _fail(f"rule id {rule.id!r} is used twice")
            seen.add(rule.id)
        return rules


# ── evaluation ───────────────────────────────────────────────────────────────────────────────


def _render_value(value: Any, spec: str) -> str:
    if value is None:
        return UNKNOWN_VALUE
    if spec:
        return format(value, spec)
    if isinstance(value, Decimal):
        if value == value.to_integral_value():
            return format(value.to_integral_value(), "f")
        return format(value.quantize(Decimal("0.01")), "f")
    return str(value)


def _render(template: str, facts: GradingFacts) -> str:
    out: list[str] = []
    for literal, name, spec, _ in string.Formatter().parse(template):
        out.append(literal)
        if name is not None:
            out.append(_render_value(getattr(facts, name), spec or ""))
    return "".join(out)


@dataclass(frozen=True)
class RuleSet:
    """A loaded, validated rules file. `grade` is pure and cheap; load once, grade many."""

    rules: tuple[Rule, ...]
    default: Outcome
    source: str = DEFAULT_RULES_PATH
    tiers: Mapping[str, TierOfLevel] = field(default_factory=lambda: dict(DEFAULT_TIERS))

    def tier_of(self, level: str) -> TierOfLevel:
        """The handling tier of a level (the file's `tiers:`, else the default)."""
        return self.tiers.get(level) or DEFAULT_TIERS[level]

    def grade(self, facts: GradingFacts) -> Grade:
        matched = [rule for rule in self.rules if rule.when.holds(facts)]
        if matched:
            level, score = matched[0].level, max(rule.score for rule in matched)
            reasons = [_render(rule.reason, facts) for rule in matched]
        else:
            level, score = self.default.level, self.default.score
            reasons = [_render(self.default.reason, facts)]
        routed = self.tier_of(level)
        return Grade(
            level=level,
            score=score,
            reasons=reasons,
            tier=routed.tier,
            inform_county=routed.inform_county,
            joint_with=routed.joint_with,
            matched_rules=[rule.id for rule in matched],
        )


# ── loading ──────────────────────────────────────────────────────────────────────────────────


def _where(loc: tuple[int | str, ...], data: Any) -> str:
    """('rules', 2, 'when', 'all', 0, 'field_gte') → "rules[2] (id 'x'): when.all[0].field_gte"."""
    head, path = "", ""
    rest = list(loc)
    if len(rest) >= 2 and rest[0] == "rules" and isinstance(rest[1], int):
        index = rest[1]
        rule_id = None
        with contextlib.suppress(KeyError, IndexError, TypeError, AttributeError):
            rule_id = data["rules"][index].get("id")
        head = f"rules[{index}]" + (f" (id {rule_id!r})" if rule_id else "")
        rest = rest[2:]
    for part in rest:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += ("." if path else "") + str(part)
    if head and path:
        return f"{head}, field {path}"
    return head or (f"field {path}" if path else "the file")


def parse_rules(data: Any, source: str = "<rules>") -> RuleSet:
    """Validate already-parsed YAML (a mapping) into a RuleSet."""
    if not isinstance(data, Mapping):
        raise GradingRulesError(
            f"{source}: a grading rules file is a mapping with `rules:` and `default:`, got {type(data).__name__}"
        )
    try:
        parsed = RulesFile.model_validate(data)
    except ValidationError as exc:
        problems = [f"{_where(tuple(err['loc']), data)}: {err['msg']}" for err in exc.errors(include_url=False)]
        raise GradingRulesError(f"{source}: invalid grading rules:\n  " + "\n  ".join(problems)) from None
    return RuleSet(
        rules=tuple(parsed.rules),
        default=parsed.default,
        source=source,
        tiers={**DEFAULT_TIERS, **{str(k): v for k, v in parsed.tiers.items()}},
    )


def load_rules(path: str | None = None) -> RuleSet:
    """Load and validate a grading rules file; None or "" means the project default (rules.yaml)."""
    source = path or DEFAULT_RULES_PATH
    try:
        text = Path(source).read_text(encoding="utf-8")
    except OSError as exc:
        raise GradingRulesError(f"{source}: cannot read the grading rules file ({exc.strerror or exc})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise GradingRulesError(f"{source}: not valid YAML: {exc}") from None
    return parse_rules(data, source)


__all__ = [
    "DEFAULT_RULES_PATH",
    "DEFAULT_TIERS",
    "KNOWN_FLAGS",
    "LEVELS",
    "Grade",
    "GradingFacts",
    "GradingRulesError",
    "RuleSet",
    "TierOfLevel",
    "load_rules",
    "parse_rules",
]
