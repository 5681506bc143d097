"""Errors of the devices (grid workers' phones)."""

from __future__ import annotations

from shared.errors import Forbidden, NotFound


class RevokedDevice(Forbidden):
    """A lost or replaced phone: refused everywhere until the worker binds a device again."""

    code = "device_revoked"
    default_detail = "该设备已停用，请重新绑定设备"


class DeviceMismatch(Forbidden):
    code = "device_mismatch"
    default_detail = "device_id 与登录设备不一致"


class GridWorkersOnly(NotFound):
    """Phone sync is for grid workers; to anyone else it does not exist."""
