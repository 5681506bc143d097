"""The in-app messages' errors."""

from __future__ import annotations

from shared.errors import NotFound


class NoInbox(NotFound):
    """The caller has no in-app inbox, or asks for another user's without being an admin (404, not 403)."""


class NotificationNotFound(NotFound):
    default_detail = "消息不存在"
