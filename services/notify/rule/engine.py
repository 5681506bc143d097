"""Notification rules as data: which events tell whom, through which channels, with which template."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.contracts.events import NOTIFY_EVENT_TYPES

DEFAULT_RULES_PATH = Path(__file__).with_name("rules.yaml")
Audience = Literal[
    "department",
    "department_head",
    "unit",
    "responsible",
    "responsible_person",
    "centre",
    "area_leader",
    "county_leader",
    "reporter",
    "worker",
    "notice_centre",
    "applicant",
    "county_centre",
    "unit_head",
    "notice_leader",
]
DIGEST_DAILY = "digest.daily"  # made by notify itself (digest/), once a day per centre
KNOWN_EVENTS = frozenset(NOTIFY_EVENT_TYPES) | {DIGEST_DAILY}
Channel = Literal["webhook", "inbox", "sms", "phone"]


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    id: str = Field(min_length=1, max_length=60)
    events: list[str] = Field(min_length=1)
    when: dict[str, Any] = Field(default_factory=dict)
    to: list[Audience] = Field(min_length=1)
    channels: list[Channel] = Field(min_length=1)
    major: bool = False
    title: str = Field(min_length=1, max_length=200)
    text: str = Field(min_length=1, max_length=1000)

    def matches(self, event_type: str, data: dict[str, Any]) -> bool:
        """The event is one of `events` and each `when` field equals the value (or one of the list)."""
        return event_type in self.events and all(_holds(data.get(k), v) for k, v in self.when.items())


def _holds(value: Any, wanted: Any) -> bool:
    if isinstance(wanted, list):
        return str(value) in {str(w) for w in wanted}
    return str(value) == str(wanted)


class RulesFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rules: list[Rule]


class _Blank(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return ""


def render(template: str, data: dict[str, Any]) -> str:
    return template.format_map(_Blank({k: ("" if v is None else v) for k, v in data.items()}))


def load_rules(path: str | None = None) -> list[Rule]:
    p = Path(path) if path else DEFAULT_RULES_PATH
    try:
        parsed = RulesFile.model_validate(yaml.safe_load(p.read_text(encoding="utf-8")))
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"通知规则文件 {p} 无法读取: {exc}") from exc
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors(include_url=False))
        raise ValueError(f"通知规则文件 {p} 有误: {problems}") from exc
    ids = [r.id for r in parsed.rules]
    if len(set(ids)) != len(ids):
        raise ValueError(f"通知规则文件 {p} 中规则 id 重复")
    for rule in parsed.rules:
        unknown = [e for e in rule.events if e not in KNOWN_EVENTS]
        if unknown:
            raise ValueError(f"通知规则文件 {p} 中规则 {rule.id} 监听了未知的事件类型：{', '.join(unknown)}")
    return parsed.rules
