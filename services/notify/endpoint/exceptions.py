"""The webhook endpoints' errors."""

from __future__ import annotations

from shared.errors import FieldError, NotFound, field_error


class DepartmentNotListed(NotFound):
    """The directory does not list the department (unknown or retired): it has no endpoint to set."""

    default_detail = "部门不存在或已撤销"


class EndpointNotFound(NotFound):
    default_detail = "该部门未配置 webhook"


class _BodyFieldError(FieldError):
    """A body field the endpoint cannot take: detail `<field>: <why>`, the error typed `kind`."""

    field = ""
    kind = "value_error"

    def __init__(self, why: str) -> None:
        loc = ("body", self.field)
        super().__init__(loc, f"{self.field}: {why}", errors=[field_error(loc, why, self.kind)])


class UnsafeUrl(_BodyFieldError):
    """The URL may not be called (scheme, or a host that is not on the public internet)."""

    field, kind = "url", "unsafe_url"


class UnusableSecret(_BodyFieldError):
    """The secret is not a `whsec_<base64>` of a usable length."""

    field, kind = "secret", "invalid_secret"


class SecretRequired(_BodyFieldError):
    """The endpoint has no secret signing yet, and the body brings none."""

    field, kind = "secret", "missing"

    def __init__(self) -> None:
        super().__init__("a secret is required: the endpoint has none")
