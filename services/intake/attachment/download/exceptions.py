"""Errors of the download of a stored file."""

from __future__ import annotations

from shared.errors import NotFound, ServiceUnavailable


class AttachmentNotFound(NotFound):
    """Missing, or not the caller's to see (never 403: a hash alone reveals nothing)."""

    default_detail = "附件不存在"


class CaseAccessUnavailable(ServiceUnavailable):
    """Cases could not say whether a department may see the file; the phone or system retries."""

    default_detail = "案件服务暂时不可用，无法确认查看权限"
