"""Errors of the stats endpoints."""

from shared.errors import FieldError, NotFound


class StatsScopeNotFound(NotFound):
    """An area or a grouping the caller may not see (not yours is 404, so codes do not leak)."""

    code = "not_found"
    default_detail = "统计范围不存在"


class BadPeriod(FieldError):
    code = "bad_period"
    title = "统计时段无效"
    default_detail = "统计时段无效"


class SubsidyPolicyInvalid(ValueError):
    """The subsidy policy file cannot be used (raised at load, before any request)."""
