"""Why a department's move on a whistle item is refused."""

from __future__ import annotations

from shared.errors import Conflict, NotFound


class NotADepartment(NotFound):
    """The caller is no department (only departments have whistle items)."""


class WhistleNotFound(NotFound):
    default_detail = "吹哨事项不存在"


class WhistleMoveNotAllowed(Conflict):
    """The whistle's state does not allow the move (detail names both); `allowed_actions` the moves it does."""


class SuspendedCaseCannotReturn(Conflict):
    default_detail = "案件已挂起，恢复办理后才能退回"
