"""What a phone sends for one report (one ITEM of a push), validated item by item."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from shared.contracts.events import RISK_FLAGS
from shared.contracts.reports import UNSTORABLE_MSG, Location, Party, id_number_valid, refuse_unstorable

__all__ = ["UNSTORABLE_MSG", "Location", "Party", "id_number_valid", "refuse_unstorable"]

ReportKind = Literal["dispute", "hazard", "request", "security", "patrol", "followup"]

# The contract's tuple of flags as a Literal (pydantic documents it as an enum); mypy wants literal values
# spelled out, and the one list of flags lives in shared/contracts.
RiskFlag = Literal[RISK_FLAGS]  # type: ignore[valid-type]


UNKNOWN_CATEGORY = {"loc": ["category"], "msg": "矛盾纠纷的类别 category 不在类别表中", "type": "enum"}


def printable_id(value: Any) -> str | None:
    """An item's id as sent, to echo in its result (lone surrogates replaced: they cannot be sent back)."""
    if value is None:
        return None
    return str(value).encode("utf-16", "surrogatepass").decode("utf-16", "replace")


AttachmentRef = Annotated[str, Field(pattern=r"^sha256:[0-9a-f]{64}$")]


class ReportItem(BaseModel):
    """One ITEM of API.md. `id` is the phone's UUID and the idempotency key of the item."""

    model_config = ConfigDict(extra="forbid")

    id: uuid.UUID
    kind: ReportKind
    category: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_]{0,39}$")
    title: str | None = Field(default=None, max_length=200)
    description: str | None = Field(default=None, max_length=5000)
    grid: str | None = Field(default=None, min_length=1, max_length=40)
    location: Location | None = None
    occurred_at: datetime | None = None
    captured_at: datetime | None = None
    parties: list[Party] = Field(default_factory=list, max_length=50)
    people_involved: int | None = Field(default=None, ge=0, le=1_000_000)
    amount_cny: Decimal | None = Field(default=None, ge=0, le=Decimal("999999999999.99"), decimal_places=2)
    flags: list[RiskFlag] = Field(default_factory=list, max_length=20)
    attachments: list[AttachmentRef] = Field(default_factory=list, max_length=30)
    # followup only
    task_id: uuid.UUID | None = None
    case_id: uuid.UUID | None = None
    satisfaction: Literal["satisfied", "basically_satisfied", "dissatisfied"] | None = None
    notes: str | None = Field(default=None, max_length=2000)

    _storable = field_validator("*", mode="before")(refuse_unstorable)

    @field_validator("occurred_at", "captured_at")
    @classmethod
    def _aware(cls, v: datetime | None) -> datetime | None:
        if v is not None and v.tzinfo is None:
            raise ValueError("时间必须带时区（RFC 3339）")
        return v

    @model_validator(mode="after")
    def _by_kind(self) -> ReportItem:
        """Rules over the whole item; each error names its field (ctx.fields → loc, see field_loc)."""
        if self.kind == "followup":
            missing = [f for f in ("task_id", "case_id", "satisfaction") if getattr(self, f) is None]
            if missing:
                raise _field_error("missing", f"回访记录缺少字段: {', '.join(missing)}", missing)
        else:
            if not self.grid:
                raise _field_error("missing", "缺少网格编码 grid", ["grid"])
            if not self.title:
                raise _field_error("missing", "缺少标题 title", ["title"])
            # a dispute's category is checked against the category list (cases' org data) by sync.push
        return self


def _field_error(kind: str, message: str, fields: list[str]) -> PydanticCustomError:
    return PydanticCustomError(kind, message, {"fields": ",".join(fields)})


def field_errors(errors: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Validation errors as `{loc, msg, type}`; a whole-item rule's error gets one entry per field it names."""
    out: list[dict[str, Any]] = []
    for e in errors:
        fields = (e.get("ctx") or {}).get("fields") if not e["loc"] else None
        if fields:
            out += [{"loc": [f], "msg": e["msg"], "type": e["type"]} for f in fields.split(",")]
        else:
            # a key the phone sent (an unknown field) may hold a lone surrogate: echo it printable
            out.append(
                {
                    "loc": [printable_id(p) if isinstance(p, str) else p for p in e["loc"]],
                    "msg": e["msg"],
                    "type": e["type"],
                }
            )
    return out
