"""Why an org document (机构文件) is refused: nothing of it is imported."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic_core import ErrorDetails

from shared.errors import Unprocessable, field_error


class OrgDocumentUnreadable(Unprocessable):
    """Neither YAML nor JSON that parses."""

    default_detail = "机构文件无法解析"

    def __init__(self, reason: str) -> None:
        super().__init__(errors=[field_error(["body"], reason[:200], "parse_error")])


class OrgDocumentMalformed(Unprocessable):
    """Parsed, but not the document's shape (the schema's own errors, under `body`)."""

    default_detail = "机构文件内容不符合要求"

    def __init__(self, errors: Sequence[ErrorDetails]) -> None:
        super().__init__(errors=[field_error(["body", *e["loc"]], e["msg"], e["type"]) for e in errors])


class OrgDocumentRejected(Unprocessable):
    """Well-formed, but wrong: unknown areas or departments, levels out of order, duplicates …"""

    default_detail = "机构文件存在错误，未导入任何内容"

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(errors=errors)
