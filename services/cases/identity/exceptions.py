"""Why a token is refused (OAuth2 error codes in `error`, RFC 6749 §5.2) or a device is unknown."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic_core import ErrorDetails

from shared.errors import NotFound, Problem, Unauthorized, Unprocessable, field_error


class TooManyAttempts(Problem):
    status = 429
    code = "too_many_attempts"
    title = "登录失败次数过多，请稍后再试"

    def __init__(self, seconds: int) -> None:
        super().__init__(f"尝试次数过多，请 {seconds} 秒后再试", headers={"Retry-After": str(seconds)})


class MissingFields(Unprocessable):
    """Fields the grant requires that the request left out."""

    def __init__(self, *fields: str) -> None:
        super().__init__(
            "缺少必填字段: " + ", ".join(fields),
            errors=[field_error(["body", f], "Field required", "missing") for f in fields],
        )


class MalformedTokenRequest(Unprocessable):
    default_detail = "请求体无法解析"

    def __init__(self) -> None:
        super().__init__(errors=[field_error(["body"], "malformed body", "parse_error")])


class InvalidTokenRequest(Unprocessable):
    default_detail = "令牌请求不符合要求"

    def __init__(self, errors: Sequence[ErrorDetails]) -> None:
        super().__init__(errors=[field_error(["body", *e["loc"]], e["msg"], e["type"]) for e in errors])


class InvalidGrant(Unauthorized):
    """Wrong credentials, an unknown/expired/reused refresh token, a disabled user (`error`: invalid_grant)."""

    def __init__(self, detail: str, **kw: Any) -> None:
        kw.setdefault("error", "invalid_grant")
        super().__init__(detail, **kw)


class InvalidClient(Unauthorized):
    def __init__(self, detail: str, **kw: Any) -> None:
        super().__init__(detail, error="invalid_client", **kw)


class InvalidRefreshToken(InvalidGrant):
    def __init__(self) -> None:
        super().__init__("刷新令牌无效")


class RefreshTokenExpired(InvalidGrant):
    def __init__(self) -> None:
        super().__init__("刷新令牌已失效，请重新登录")


class RefreshTokenReused(InvalidGrant):
    def __init__(self) -> None:
        super().__init__("刷新令牌已被使用，请重新登录")


class UserDisabled(InvalidGrant):
    def __init__(self) -> None:
        super().__init__("用户已停用")


class DeviceRevoked(InvalidGrant):
    """A revoked phone (code device_revoked): signing in with it, or refreshing a token bound to it."""

    def __init__(self, detail: str = "该设备已停用") -> None:
        super().__init__(detail, code="device_revoked")


class DeviceNotFound(NotFound):
    default_detail = "设备不存在"


class CredentialsGivenTwice(Unauthorized):
    """Client credentials in both the Authorization header and the body (RFC 6749 §2.3: one way only)."""

    default_detail = "客户端凭据只能用一种方式提交"

    def __init__(self) -> None:
        super().__init__(error="invalid_request")


class ClientDisabled(Unauthorized):
    """An access token of a department system's client that the org document has since disabled."""

    default_detail = "客户端已停用"

    def __init__(self) -> None:
        super().__init__(error="invalid_token")
