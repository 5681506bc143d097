"""Why a token is refused — RFC 6749 §5.2: `error` and an ASCII `error_description` alongside the
problem+json members (zh-CN `detail` for people) — or a device is unknown."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic_core import ErrorDetails

from shared.errors import NotFound, Problem, Unauthorized, field_error


class OAuthError(Problem):
    """An error of the token endpoint: 400 unless said otherwise, `error` as RFC 6749 names it."""

    status = 400
    code = "invalid_request"
    title = "令牌请求无效"
    description = "The request is invalid."  # error_description: ASCII only (RFC 6749 §5.2)

    def __init__(self, detail: str | None = None, *, description: str | None = None, **kw: Any) -> None:
        super().__init__(detail, **kw)
        self.extra.setdefault("error", type(self).error_code())
        self.extra["error_description"] = description or self.description

    @classmethod
    def error_code(cls) -> str:
        """The RFC 6749 `error`: the nearest class's code among the RFC's own."""
        for klass in cls.__mro__:
            code = getattr(klass, "code", None)
            if code in RFC6749_ERRORS:
                return str(code)
        return "invalid_request"


RFC6749_ERRORS = frozenset(
    {"invalid_request", "invalid_client", "invalid_grant", "unauthorized_client", "unsupported_grant_type"}
)


class TooManyAttempts(Problem):
    status = 429
    code = "too_many_attempts"
    title = "登录失败次数过多，请稍后再试"

    def __init__(self, seconds: int) -> None:
        super().__init__(f"尝试次数过多，请 {seconds} 秒后再试", headers={"Retry-After": str(seconds)})


class InvalidRequest(OAuthError):
    """A missing or malformed field (`error`: invalid_request); `errors` names the fields."""


class MissingFields(InvalidRequest):
    """Fields the grant requires that the request left out."""

    def __init__(self, *fields: str) -> None:
        super().__init__(
            "缺少必填字段: " + ", ".join(fields),
            description="Missing parameter: " + ", ".join(fields),
            errors=[field_error(["body", f], "Field required", "missing") for f in fields],
        )


class MalformedTokenRequest(InvalidRequest):
    default_detail = "请求体无法解析"
    description = "The request body cannot be parsed."

    def __init__(self) -> None:
        super().__init__(errors=[field_error(["body"], "malformed body", "parse_error")])


class InvalidTokenRequest(InvalidRequest):
    default_detail = "令牌请求不符合要求"
    description = "A parameter is invalid."

    def __init__(self, errors: Sequence[ErrorDetails]) -> None:
        super().__init__(errors=[field_error(["body", *e["loc"]], e["msg"], e["type"]) for e in errors])


class UnsupportedGrantType(OAuthError):
    code = "unsupported_grant_type"
    default_detail = "不支持的授权类型"
    description = "grant_type must be password, client_credentials or refresh_token."

    def __init__(self) -> None:
        super().__init__(errors=[field_error(["body", "grant_type"], "unsupported grant type", "literal_error")])


class InvalidGrant(OAuthError):
    """Wrong credentials, an unknown/expired/reused refresh token, a disabled user (`error`: invalid_grant)."""

    code = "invalid_grant"
    description = "The credentials or the refresh token are invalid."


class WrongPassword(InvalidGrant):
    default_detail = "用户名或密码错误"
    description = "Wrong username or password."


class InvalidClient(OAuthError):
    """Client authentication failed: 401 with WWW-Authenticate (RFC 6749 §5.2)."""

    status = 401
    code = "invalid_client"
    description = "Client authentication failed."

    def __init__(self, detail: str, **kw: Any) -> None:
        kw.setdefault("headers", {"WWW-Authenticate": 'Basic realm="fengqiao"'})
        super().__init__(detail, **kw)


class InvalidRefreshToken(InvalidGrant):
    default_detail = "刷新令牌无效"
    description = "The refresh token is invalid."


class RefreshTokenExpired(InvalidGrant):
    default_detail = "刷新令牌已失效，请重新登录"
    description = "The refresh token has expired or was revoked."


class RefreshTokenReused(InvalidGrant):
    default_detail = "刷新令牌已被使用，请重新登录"
    description = "The refresh token was already used."


class UserDisabled(InvalidGrant):
    default_detail = "用户已停用"
    description = "The user is disabled."


class DeviceRevoked(InvalidGrant):
    """A revoked phone (code device_revoked, `error` invalid_grant): signing in with it, or refreshing a
    token bound to it."""

    code = "device_revoked"
    default_detail = "该设备已停用"
    description = "The device was revoked."


class DeviceNotFound(NotFound):
    default_detail = "设备不存在"


class CredentialsGivenTwice(InvalidRequest):
    """Client credentials in both the Authorization header and the body (RFC 6749 §2.3: one way only)."""

    default_detail = "客户端凭据只能用一种方式提交"
    description = "Client credentials were given more than once."


class ClientDisabled(Unauthorized):
    """An access token of a department system's client that the org document has since disabled."""

    default_detail = "客户端已停用"

    def __init__(self) -> None:
        super().__init__(error="invalid_token")
