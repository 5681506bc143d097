"""What can go wrong with a notice, as the caller hears it."""

from __future__ import annotations

from shared.errors import Conflict, FieldError, Forbidden, NotFound


class NoticeNotFound(NotFound):
    """Unknown, or not in the caller's scope."""

    default_detail = "通知不存在"


class NotAddressedToCaller(Forbidden):
    """Only the unit a notice is addressed to answers it."""

    def __init__(self, unit: str) -> None:
        super().__init__(f"该通知由 {unit} 答复")


class NoticeAlreadyAnswered(Conflict):
    default_detail = "该通知已答复"

    def __init__(self, *, can_close: bool) -> None:
        super().__init__(allowed_actions=["close"] if can_close else [])


class NotIssuingCentre(Forbidden):
    """Only the centre that issued a notice closes it (结案)."""

    default_detail = "只有发出通知的综治中心可以结案"


class NoticeNotAnswered(Conflict):
    default_detail = "只有已答复的通知可以结案"

    def __init__(self, state: str) -> None:
        super().__init__(allowed_actions=[], state=state)


class NoticeAlreadyClosed(Conflict):
    default_detail = "该通知已结案"

    def __init__(self, state: str) -> None:
        super().__init__(allowed_actions=[], state=state)


class NoticeCaseNotFound(FieldError):
    """A notice by hand on a case that does not exist or is not in the issuer's area (404: ids do not leak)."""

    status = 404
    default_detail = "案件不存在"

    def __init__(self) -> None:
        super().__init__(["body", "case_id"], msg="unknown case")


class NotSupervisingCentre(Forbidden):
    """A dispatcher issues a notice by hand only from a centre above the case's handling centre."""

    code = "not_supervising_centre"


class NoticeCaseEnded(Conflict):
    default_detail = "案件已结束，不能督办"

    def __init__(self, state: str) -> None:
        super().__init__(allowed_actions=[], state=state)


class UnknownNoticeUnit(FieldError):
    default_detail = "督办对象须为在册部门或本案所在区域的综治中心"

    def __init__(self) -> None:
        super().__init__(["body", "unit"], msg="unknown or retired department, or no centre of the case's area")
