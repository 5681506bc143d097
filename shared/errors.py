"""RFC 9457 problem+json for every error; domain exceptions carry their status."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.db import is_database_unavailable as is_database_unavailable  # its home is shared/db.py

log = logging.getLogger("shared.errors")

PROBLEM_TYPE_BASE = "https://fengqiao.example/problems/"
PROBLEM_MEDIA_TYPE = "application/problem+json"


class Problem(Exception):
    """A domain error rendered once as problem+json."""

    status = 400
    code = "bad_request"
    title = "请求无效"
    default_detail: str | None = None  # a named domain error's zh-CN detail when none is given

    def __init__(
        self,
        detail: str | None = None,
        *,
        status: int | None = None,
        code: str | None = None,
        title: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        detail = detail or self.default_detail
        super().__init__(detail or self.title)
        if status is not None:
            self.status = status
        if code is not None:
            self.code = code
        if title is not None:
            self.title = title
        self.detail = detail or self.title
        self.errors = errors
        self.headers = headers or {}
        self.extra = extra


class NotFound(Problem):
    status = 404
    code = "not_found"
    title = "资源不存在"


class Conflict(Problem):
    status = 409
    code = "conflict"
    title = "状态冲突"


class Unauthorized(Problem):
    status = 401
    code = "unauthorized"
    title = "未认证或认证已失效"

    def __init__(self, detail: str | None = None, **kw: Any) -> None:
        kw.setdefault("headers", {"WWW-Authenticate": 'Bearer realm="fengqiao"'})
        super().__init__(detail, **kw)


class Forbidden(Problem):
    status = 403
    code = "forbidden"
    title = "无权执行此操作"


class Unprocessable(Problem):
    status = 422
    code = "validation_error"
    title = "请求内容校验失败"


class ServiceUnavailable(Problem):
    status = 503
    code = "service_unavailable"
    title = "服务暂时不可用，请稍后重试"

    def __init__(self, detail: str | None = None, retry_after: int = 2, **kw: Any) -> None:
        kw.setdefault("headers", {"Retry-After": str(retry_after)})
        super().__init__(detail, **kw)


def field_error(loc: Sequence[str | int], msg: str, type_: str = "value_error") -> dict[str, Any]:
    """One entry of a problem's `errors`: the field at fault (`["body", "departments", 0, "code"]`)."""
    return {"loc": list(loc), "msg": msg, "type": type_}


class FieldError(Unprocessable):
    """A 422 naming one field: `raise UnknownDepartment(("body", "departments", i, "code"), code)` in a
    domain's exceptions.py subclasses this with its own message."""

    error_type = "value_error"  # the `type` of its `errors` entry
    default_msg: str | None = None  # the `msg` of its `errors` entry when none is given (else the detail)

    def __init__(self, loc: Sequence[str | int], detail: str | None = None, msg: str | None = None, **kw: Any) -> None:
        detail = detail or self.default_detail or self.title
        kw.setdefault("errors", [field_error(loc, msg or self.default_msg or detail, self.error_type)])
        super().__init__(detail, **kw)


def problem_body(status: int, code: str, title: str, detail: str, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + code,
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
    }
    body.update({k: v for k, v in extra.items() if v is not None})
    return body


def problem_response(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def _clean_loc(loc: Any) -> list[Any]:
    return list(loc) if isinstance(loc, (list, tuple)) else [str(loc)]


def validation_errors(exc_errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {"loc": _clean_loc(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
        for e in exc_errors
    ]


_STATUS_TITLES = {
    400: ("bad_request", "请求无效"),
    401: ("unauthorized", "未认证或认证已失效"),
    403: ("forbidden", "无权执行此操作"),
    404: ("not_found", "资源不存在"),
    405: ("method_not_allowed", "不支持的请求方法"),
    406: ("not_acceptable", "不支持的响应格式"),
    409: ("conflict", "状态冲突"),
    410: ("gone", "资源已失效"),
    412: ("precondition_failed", "前置条件不满足"),
    413: ("payload_too_large", "请求体过大"),
    415: ("unsupported_media_type", "不支持的内容类型"),
    422: ("validation_error", "请求内容校验失败"),
    429: ("too_many_requests", "请求过于频繁"),
    503: ("service_unavailable", "服务暂时不可用，请稍后重试"),
}


FASTAPI_BODY_PARSE_ERROR = "There was an error parsing the body"


def is_unstorable_text(exc: BaseException) -> bool:
    """Text PostgreSQL cannot store (a NUL character, a lone UTF-16 surrogate): the caller's input, so 422."""
    import asyncpg

    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(
            cur,
            (
                UnicodeEncodeError,
                asyncpg.exceptions.CharacterNotInRepertoireError,
                asyncpg.exceptions.UntranslatableCharacterError,
            ),
        ):
            return True
        cur = cur.__cause__ or cur.__context__
    return False


UNSTORABLE_TEXT_ERRORS = [
    {"loc": ["body"], "msg": "文本含有不允许的字符（NUL 或无效的 Unicode）", "type": "string_unstorable"}
]


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(_: Request, exc: Problem) -> JSONResponse:
        body = problem_body(exc.status, exc.code, exc.title, exc.detail, errors=exc.errors, **exc.extra)
        return problem_response(exc.status, body, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = validation_errors(list(exc.errors()))
        body = problem_body(
            422, "validation_error", "请求内容校验失败", "请求内容不符合接口要求，见 errors", errors=errors
        )
        return problem_response(422, body)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400 and exc.detail == FASTAPI_BODY_PARSE_ERROR:
            # A body FastAPI cannot decode at all (not UTF-8, say) is a payload error like any other: 422.
            errors = [{"loc": ["body"], "msg": "请求体不是有效的 UTF-8 JSON", "type": "json_invalid"}]
            body = problem_body(422, "validation_error", "请求内容校验失败", "请求体无法解析为 JSON", errors=errors)
            return problem_response(422, body)
        code, title = _STATUS_TITLES.get(exc.status_code, ("error", "请求失败"))
        detail = exc.detail if isinstance(exc.detail, str) else title
        headers = dict(exc.headers) if exc.headers else None
        return problem_response(exc.status_code, problem_body(exc.status_code, code, title, detail), headers)
