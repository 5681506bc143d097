"""Grading (分级研判): the rules engine that turns a report and its parties' history into a level,
a score, the reasons and the handling tier. The rules are data: rules.yaml, replaced by a deployment
through GRADING_RULES_FILE."""

from __future__ import annotations

from services.cases.grading.engine import (
    DEFAULT_RULES_PATH,
    Grade,
    GradingFacts,
    GradingRulesError,
    RuleSet,
    load_rules,
    parse_rules,
)

__all__ = ["DEFAULT_RULES_PATH", "Grade", "GradingFacts", "GradingRulesError", "RuleSet", "load_rules", "parse_rules"]
