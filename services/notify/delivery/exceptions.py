"""The operators' delivery errors."""

from __future__ import annotations

from shared.errors import Conflict, FieldError, NotFound


class DeliveryNotFound(NotFound):
    default_detail = "投递记录不存在"


class AlreadyDelivered(Conflict):
    default_detail = "该投递已成功送达，无需重试"


class NotRetriedByOperators(Conflict):
    """Phone and in-app deliveries are not the worker's: an operator does not retry them."""

    def __init__(self, channel: str) -> None:
        super().__init__(f"{channel} 渠道的投递不由操作员重试")


class DepartmentNeedsWebhook(FieldError):
    """A retry filter names a department but a channel other than webhook."""

    default_detail = "department: 只有 webhook 投递属于部门"

    def __init__(self) -> None:
        super().__init__(("body", "department"), msg="only webhook deliveries have a department")
