"""Errors of the case reads and of reaching a case to act on it."""

from __future__ import annotations

from shared.errors import Conflict, FieldError, Forbidden, NotFound


class CaseNotFound(NotFound):
    """Unknown, or not in the caller's scope (404 either way: API.md)."""

    default_detail = "案件不存在"


class NoCaseScope(NotFound):
    """A role that sees no case through cases (grid workers use the phone API)."""


class LeaderReadOnly(Forbidden):
    default_detail = "领导账号只读，不能办理案件"


class RevealReasonRequired(FieldError):
    """Revealing a case's parties needs a reason (it goes into the audit log)."""

    default_detail = "查看当事人完整信息须填写事由（reason）"
    error_type = "missing"


REVEAL_REASON_LOC = ("body", "reason")


class DeskAreaOutOfScope(FieldError):
    """A desk registration names an area the directory does not know or the dispatcher does not serve."""

    default_detail = "区域不存在或不在您的管辖范围内"


class ExternalRefRequired(FieldError):
    """A transfer from the 12345 hotline carries the hotline's work-order number."""

    default_detail = "12345热线转办须填写工单号（external_ref）"
    error_type = "missing"


class NotHandlingCentre(Forbidden):
    """A decision on a case by a centre below its handling centre: it may read the case and report
    progress, not decide (403, since it sees the case)."""

    code = "not_handling_centre"


class WorkOrderRegistered(Conflict):
    """A 12345 work order already registered as a live case: the desk continues that case (or reopens it)
    instead of making a second one. The case is named only to a caller who may see it."""

    code = "work_order_registered"

    def __init__(self, external_ref: str, case_id: str | None, number: str | None) -> None:
        where = f"案件 {number}" if number else "其他区域的案件"
        super().__init__(
            f"12345工单 {external_ref} 已登记为{where}，请在原案件中继续办理",
            errors=[{"loc": ["body", "external_ref"], "msg": f"已登记为{where}", "type": "duplicate"}],
            case_id=case_id,
            case_number=number,
        )
