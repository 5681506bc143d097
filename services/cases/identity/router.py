"""Token endpoint, JWKS, the OpenID/OAuth discovery document, device revocation."""

from __future__ import annotations

import base64
from typing import Annotated, Any
from urllib.parse import unquote_plus

from fastapi import APIRouter, Path, Request, Response
from pydantic import ValidationError

from services.cases.context import CasesCtx
from services.cases.identity import service
from services.cases.identity.exceptions import (
    CredentialsGivenTwice,
    InvalidClient,
    InvalidTokenRequest,
    MalformedTokenRequest,
    MissingFields,
    UnsupportedGrantType,
)
from services.cases.identity.schemas import (
    GRANT_TYPES,
    OpenIdConfiguration,
    RevokeResponse,
    TokenRequest,
    TokenResponse,
)
from shared.auth import Principal, request_client_address, require_roles
from shared.db import DbSession
from shared.openapi import problem_responses

router = APIRouter(tags=["identity"])

_TOKEN_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {"schema": {"$ref": "#/components/schemas/TokenRequest"}},
            "application/json": {"schema": {"$ref": "#/components/schemas/TokenRequest"}},
        },
    }
}


def _basic_client(request: Request) -> dict[str, str]:
    """HTTP Basic client authentication (RFC 6749 §2.3.1): client id and secret, each form-urlencoded."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return {}
    try:
        client_id, sep, secret = base64.b64decode(value.strip(), validate=True).decode("utf-8").partition(":")
    except (ValueError, UnicodeDecodeError):
        sep = ""
    if not sep:
        raise InvalidClient("Authorization: Basic 无法解析", headers={"WWW-Authenticate": 'Basic realm="fengqiao"'})
    return {"client_id": unquote_plus(client_id), "client_secret": unquote_plus(secret)}


async def _token_request(request: Request) -> TokenRequest:
    ctype = request.headers.get("content-type", "")
    data: Any
    try:
        if ctype.startswith("application/json"):
            data = await request.json()
        else:
            form = await request.form()
            data = {k: v for k, v in form.items() if isinstance(v, str)}
    except ValueError:
        raise MalformedTokenRequest() from None
    if not isinstance(data, dict):
        raise MalformedTokenRequest()
    grant = data.get("grant_type")
    if not grant:
        raise MissingFields("grant_type")
    if grant not in GRANT_TYPES:
        raise UnsupportedGrantType()
    basic = _basic_client(request)
    if basic:
        if data.get("client_id") not in (None, basic["client_id"]) or data.get("client_secret"):
            raise CredentialsGivenTwice()
        data = {**data, **basic}
    try:
        return TokenRequest.model_validate(data)
    except ValidationError as exc:
        raise InvalidTokenRequest(exc.errors(include_url=False)) from None


@router.post(
    "/v1/auth/token",
    response_model=TokenResponse,
    summary=(
        "OAuth2 token endpoint (password + device_id, client_credentials with the body or HTTP Basic, refresh_token)"
    ),
    openapi_extra=_TOKEN_BODY,
    responses=problem_responses(400, 401, 429),
)
async def token(request: Request, response: Response, session: DbSession, ctx: CasesCtx) -> TokenResponse:
    response.headers["Cache-Control"] = "no-store"  # RFC 6749 §5.1: tokens are never cached
    response.headers["Pragma"] = "no-cache"
    req = await _token_request(request)
    return await ctx.issuer.issue(session, req, request_client_address(request))


@router.get("/.well-known/jwks.json", summary="Public keys for verifying access tokens (old and new in a rotation)")
async def jwks(ctx: CasesCtx) -> dict[str, Any]:
    return ctx.signing_key.jwks()


@router.get(
    "/.well-known/openid-configuration",
    response_model=OpenIdConfiguration,
    response_model_exclude_none=True,
    summary="Discovery document: issuer, token endpoint, JWKS URI, grants, signing algorithms",
)
async def openid_configuration(ctx: CasesCtx) -> OpenIdConfiguration:
    return service.discovery(ctx.settings.jwt_issuer, ctx.signing_key.algorithm)


@router.post(
    "/v1/admin/devices/{device_id}/revoke",
    response_model=RevokeResponse,
    summary="Revoke a lost phone: refresh tokens die now, intake refuses its pushes within seconds",
    responses=problem_responses(401, 404),
)
async def revoke_device(
    device_id: Annotated[str, Path(min_length=1, max_length=100)],
    session: DbSession,
    principal: Annotated[Principal, require_roles("admin")],
) -> RevokeResponse:
    return await service.revoke_device(session, device_id, principal.username or principal.subject)
