"""Errors of the phone sync (push and pull)."""

from __future__ import annotations

from typing import Any

from shared.errors import FieldError, Problem, Unprocessable, field_error


class DeviceTimeUnreadable(FieldError):
    default_detail = "X-Device-Time 必须是带时区的 RFC 3339 时间"
    default_msg = "not an RFC 3339 time"
    error_type = "datetime_parsing"

    def __init__(self) -> None:
        super().__init__(["header", "X-Device-Time"])


class DeviceTimeWithoutZone(FieldError):
    default_detail = "X-Device-Time 必须带时区"
    default_msg = "timezone required"
    error_type = "timezone_aware"

    def __init__(self) -> None:
        super().__init__(["header", "X-Device-Time"])


class PushNotJson(FieldError):
    default_detail = "请求体不是有效的 JSON"
    error_type = "json_invalid"

    def __init__(self, reason: str) -> None:
        super().__init__(["body"], msg=reason[:200])


class InvalidPushBatch(Unprocessable):
    """The batch as a whole (device_id, items) is not what a push is; `errors` say where."""

    default_detail = "请求体不是有效的同步批次"

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(errors=errors)


class TooManyItems(Problem):
    """More items than one push may carry: the whole request is refused, naming the limit."""

    status = 413
    code = "too_many_items"
    title = "同步条数过多"

    def __init__(self, max_items: int, count: int) -> None:
        super().__init__(
            f"一次最多同步 {max_items} 条，本次 {count} 条，请分批提交",
            errors=[field_error(["body", "items"], f"at most {max_items} items", "too_long")],
            max_items=max_items,
        )


class ReportWriteRace(Problem):
    """A report the batch insert skipped as existing is not there when read back; the phone retries."""

    status = 503
    code = "retry"
    default_detail = "报告写入异常，请重试"

    def __init__(self) -> None:
        super().__init__(headers={"Retry-After": "1"})


class CursorGone(Problem):
    status = 410
    code = "cursor_gone"
    title = "同步游标无效或已过期"


class CursorUnreadable(CursorGone):
    default_detail = "同步游标无法识别，请重新拉取全量快照"


class CursorExpired(CursorGone):
    default_detail = "同步游标已过期，请重新拉取全量快照"
