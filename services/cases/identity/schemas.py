from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class TokenRequest(BaseModel):
    grant_type: Literal["password", "client_credentials", "refresh_token"]
    username: str | None = Field(default=None, max_length=100)
    password: str | None = Field(default=None, max_length=200)
    device_id: str | None = Field(default=None, min_length=1, max_length=100)
    client_id: str | None = Field(default=None, max_length=100)
    client_secret: str | None = Field(default=None, max_length=200)
    refresh_token: str | None = Field(default=None, max_length=300)
    scope: str | None = Field(default=None, max_length=200)


class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int
    refresh_token: str | None = None


class RevokeResponse(BaseModel):
    device_id: str
    revoked_at: str
    refresh_tokens_revoked: int
