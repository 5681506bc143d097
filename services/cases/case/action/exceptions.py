"""Why a case action is refused: each error carries its status, code and the zh-CN detail people read;
a 409 also names the actions still allowed (`allowed_actions`), a 422 the field at fault."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from services.cases.case.action.schemas import MAX_EXTENSION
from shared.errors import Conflict, FieldError, NotFound, Unprocessable, field_error


class ActionNotAllowed(Conflict):
    code = "action_not_allowed"
    title = "当前状态下不能执行该操作"


class UnknownDepartments(Unprocessable):
    """Whistled departments that do not exist, are retired (撤销) or are out of the case's reach."""

    default_detail = "部门不存在、已撤销或不在本案辖区"

    def __init__(self, indices: Sequence[int], **kw: Any) -> None:
        super().__init__(
            errors=[
                field_error(
                    ["body", "departments", i, "code"],
                    "unknown or retired department, or out of reach",
                    "unknown_department",
                )
                for i in indices
            ],
            **kw,
        )


class DepartmentAlreadyWorking(Conflict):
    default_detail = "该部门已在办理本案"


class LeadAlreadyNamed(Conflict):
    default_detail = "本案已有牵头部门"


class DeadlineNotFound(NotFound):
    default_detail = "时限不存在"


class DeadlineNotPending(Conflict):
    default_detail = "只能对未到期的时限延期"


class DeadlineExtendedBefore(Conflict):
    default_detail = "该时限已延期过一次，不能再次延期"


class ExtensionNotLater(FieldError):
    default_detail = "延期后的时限必须晚于原时限"

    def __init__(self, field: str) -> None:
        super().__init__(["body", field], msg="must be later than the current due time")


class ExtensionTooLong(FieldError):
    default_detail = f"一次延期不能超过 {MAX_EXTENSION.days} 天"

    def __init__(self, field: str) -> None:
        super().__init__(["body", field], msg="extension too long")


class AlreadyAtCounty(Conflict):
    default_detail = "案件已在县级办理，不能再提级"


class LeadNotDone(Conflict):
    default_detail = "牵头部门尚未报告办结，不能办结案件"


class ExpectedDateInPast(FieldError):
    default_detail = "预计解决日期不能早于今天"

    def __init__(self) -> None:
        super().__init__(["body", "expected_by"], msg="expected_by is before today")


class MergeIntoItself(FieldError):
    default_detail = "不能并入本案"

    def __init__(self) -> None:
        super().__init__(["body", "into"], msg="same case")


class MergeTargetUnknown(FieldError):
    default_detail = "目标案件不存在"

    def __init__(self) -> None:
        super().__init__(["body", "into"], errors=[field_error(["body", "into"], "unknown case", "not_found")])


class MergeTargetEnded(Conflict):
    default_detail = "目标案件已结束，不能并入"
