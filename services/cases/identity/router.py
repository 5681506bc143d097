"""Token endpoint, JWKS, device revocation."""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from pydantic import ValidationError

from services.cases.identity import service
from services.cases.identity.schemas import RevokeResponse, TokenRequest, TokenResponse
from shared.auth import Principal, require_roles
from shared.db import DbSession
from shared.errors import Unprocessable
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
        raise Unprocessable("请求体无法解析", errors=[{"loc": ["body"], "msg": "malformed body", "type": "parse_error"}]) from None
    try:
        return TokenRequest.model_validate(data)
    except ValidationError as exc:
        raise Unprocessable(
            "令牌请求不符合要求",
            errors=[{"loc": ["body", *e["loc"]], "msg": e["msg"], "type": e["type"]} for e in exc.errors(include_url=False)],
        ) from None


@router.post(
    "/v1/auth/token",
    response_model=TokenResponse,
    summary="OAuth2 token endpoint (password + device_id, client_credentials, refresh_token)",
    openapi_extra=_TOKEN_BODY,
    responses=problem_responses(401, 422, 429),
)
async def token(request: Request, session: DbSession) -> TokenResponse:
    req = await _token_request(request)
    return await request.app.state.issuer.issue(session, req)


@router.get("/.well-known/jwks.json", summary="Public keys for verifying access tokens")
async def jwks(request: Request) -> dict[str, Any]:
    return request.app.state.signing_key.jwks()


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
