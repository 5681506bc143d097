"""The mediator register in the org document (API.md "Org document": `mediators`)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

MediatorKind = Literal["professional", "part_time", "invited"]  # 专职 · 兼职 · 特邀


class MediatorDoc(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(min_length=1, max_length=40, pattern=r"^[0-9A-Za-z][0-9A-Za-z_-]*$")
    name: str = Field(min_length=1, max_length=100)
    area: str = Field(min_length=1, max_length=40)
    kind: MediatorKind
    committee: str | None = Field(default=None, max_length=100, description="the mediation committee they sit on")
    active: bool = Field(default=True, description="false retires the mediator: resolve no longer accepts the code")
