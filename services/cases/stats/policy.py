"""The subsidy policy file (SUBSIDY_POLICY_FILE): the amount paid per settled case by grade (以案计补)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path

import yaml

from services.cases.stats.exceptions import SubsidyPolicyInvalid

DEFAULT_FILE = Path(__file__).with_name("subsidy_policy.yaml")
LEVELS = ("ordinary", "complex", "major", "petition_backlog")


@dataclass(frozen=True)
class SubsidyPolicy:
    amounts: dict[str, Decimal]

    def amount(self, level: str) -> Decimal:
        return self.amounts.get(level, Decimal(0))


@lru_cache(maxsize=8)
def load_policy(path: str = "") -> SubsidyPolicy:
    """Read and check the policy once per path; every grade must have a non-negative amount."""
    raw = yaml.safe_load(Path(path or DEFAULT_FILE).read_text(encoding="utf-8")) or {}
    given = raw.get("amounts") or {}
    amounts: dict[str, Decimal] = {}
    for level in LEVELS:
        try:
            value = Decimal(str(given[level]))
        except (KeyError, InvalidOperation) as exc:
            raise SubsidyPolicyInvalid(
                f"subsidy policy {path or DEFAULT_FILE}: amounts.{level} missing or not a number"
            ) from exc
        if value < 0:
            raise SubsidyPolicyInvalid(f"subsidy policy: amounts.{level} is negative")
        amounts[level] = value
    return SubsidyPolicy(amounts)
