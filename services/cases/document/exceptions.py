"""Errors of attaching a document to a case."""

from __future__ import annotations

from shared.errors import FieldError, Forbidden, ServiceUnavailable

SHA256_LOC = ("body", "sha256")


class DocumentNotUploaded(FieldError):
    """Intake holds no finished upload of this file by the caller (tus upload first, then attach)."""

    code = "document_not_uploaded"
    default_detail = "文件尚未通过附件接口上传完成（须由本人上传）"


class DocumentTypeUnsupported(FieldError):
    code = "document_type_unsupported"
    default_detail = "案卷材料只能是图片、录音或 PDF 文件"
    error_type = "enum"


class DocumentsReadOnly(Forbidden):
    default_detail = "领导账号只读，不能附加案卷材料"


class AttachmentsUnavailable(ServiceUnavailable):
    """Intake could not confirm the upload; the caller retries (nothing was stored)."""

    default_detail = "附件服务暂时不可用，无法确认上传的文件"
