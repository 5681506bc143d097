"""Why a category is refused."""

from __future__ import annotations

from shared.errors import FieldError


class UnknownCategory(FieldError):
    code = "unknown_category"
    title = "矛盾纠纷的类别不在类别表中"
    default_detail = "矛盾纠纷的类别 category 不在类别表中"
    error_type = "enum"
