"""Errors of the devices (grid workers' phones)."""

from __future__ import annotations

from shared.errors import Forbidden, NotFound, Problem


class RevokedDevice(Forbidden):
    """A lost or replaced phone: refused everywhere until the worker binds a device again."""

    code = "device_revoked"
    default_detail = "该设备已停用，请重新绑定设备"


class DeviceMismatch(Forbidden):
    code = "device_mismatch"
    default_detail = "device_id 与登录设备不一致"


class GridWorkersOnly(NotFound):
    """Phone sync is for grid workers; to anyone else it does not exist."""


class PushRateExceeded(Problem):
    """A device pushing faster than its allowance (a runaway app, a retry loop): refused as a whole, nothing
    stored, so the other phones keep their share; the phone retries after Retry-After seconds."""

    status = 429
    code = "push_rate_exceeded"
    title = "上传过于频繁"

    def __init__(self, retry_after: int) -> None:
        seconds = max(1, retry_after)
        super().__init__(
            f"该设备上传过于频繁，请 {seconds} 秒后重试", headers={"Retry-After": str(seconds)}, retry_after=seconds
        )
