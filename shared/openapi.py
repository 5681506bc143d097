"""OpenAPI helpers: every error a route really sends is documented as problem+json."""

from __future__ import annotations

from typing import Any

from shared.errors import PROBLEM_MEDIA_TYPE

_DESCRIPTIONS = {
    400: "请求无效",
    401: "未认证（WWW-Authenticate）",
    403: "设备已停用或与令牌不符",
    404: "不存在或无权查看",
    409: "状态冲突",
    410: "游标已失效",
    412: "前置条件不满足",
    413: "请求体过大",
    415: "不支持的内容类型",
    422: "请求内容校验失败（errors 指出字段）",
    429: "请求过于频繁（Retry-After）",
    460: "分片校验和不符",
    503: "暂时不可用（Retry-After）",
}


def problem_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {
        code: {
            "description": _DESCRIPTIONS.get(code, "错误"),
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for code in codes
    }
