"""Bodies of the endpoint routes."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class EndpointIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str = Field(min_length=1, max_length=2000, description="http(s) URL of the department system's receiver")
    secret: str | None = Field(
        default=None,
        max_length=200,
        description="Standard Webhooks secret `whsec_<base64 of 24–64 bytes>`; a new one rotates "
        "(the previous keeps signing for 24 h). Required when the endpoint has no secret yet.",
    )


class SecretInfo(BaseModel):
    added_at: datetime | None
    expires_at: datetime | None = Field(description="null: the current secret")


class EndpointOut(BaseModel):
    department_code: str
    url: str
    state: str = Field(description="active | disabled")
    disabled_reason: str | None
    source: str = Field(
        description="operator (set with PUT; an org import leaves it alone) | directory (from the org document)"
    )
    secret_count: int = Field(description="secrets signing now (2 during a rotation)")
    secrets: list[SecretInfo]
    updated_at: datetime
