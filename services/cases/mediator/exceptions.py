"""Errors of the mediator register."""

from shared.errors import FieldError


class UnknownMediator(FieldError):
    code = "unknown_mediator"
    title = "调解员不存在或已退出名册"
    default_detail = "调解员不存在或已退出名册"


class UnknownMediatorArea(FieldError):
    code = "unknown_area"
    title = "调解员所属区域不存在"
    default_detail = "调解员所属区域不存在"
