from __future__ import annotations

from typing import Literal, get_args

from pydantic import BaseModel, Field

GrantType = Literal["password", "client_credentials", "refresh_token"]
GRANT_TYPES: tuple[str, ...] = get_args(GrantType)


class TokenRequest(BaseModel):
    grant_type: GrantType
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


class OpenIdConfiguration(BaseModel):
    """The discovery document (OpenID Connect Discovery 1.0 / RFC 8414 names) a stock client reads."""

    issuer: str
    token_endpoint: str
    jwks_uri: str
    grant_types_supported: list[str]
    token_endpoint_auth_methods_supported: list[str]
    response_types_supported: list[str]
    subject_types_supported: list[str]
    id_token_signing_alg_values_supported: list[str]
    claims_supported: list[str]
    service_documentation: str | None = None
