"""Errors of the tus uploads. Malformed protocol headers are 400 as tus says; the file's own
description (Upload-Metadata) is validated like a payload: 422 naming `["Upload-Metadata", <key>]`."""

from __future__ import annotations

from collections.abc import Iterable

from shared.contracts.attachments import DOCUMENT_NOT_STORED, DOCUMENT_TYPE_UNSUPPORTED
from shared.errors import Conflict, FieldError, NotFound, Problem, Unprocessable, field_error


class UploadNotFound(NotFound):
    """Missing, purged, or someone else's (which is as unknown as a missing one)."""

    default_detail = "上传不存在"


class UploadDataLost(NotFound):
    default_detail = "上传数据已丢失，请重新上传"


class UploadExpired(NotFound):
    """Past its expiry: 404 (tus allows 404 or 410), which every tus client takes as "create it anew"."""

    code = "upload_expired"
    title = "上传已过期"
    default_detail = "上传已过期，请重新上传"


class TusVersionUnsupported(Problem):
    status = 412
    code = "unsupported_tus_version"
    title = "不支持的 tus 协议版本"

    def __init__(self, version: str) -> None:
        super().__init__(f"需要 Tus-Resumable: {version}", headers={"Tus-Version": version})


class BadTusHeader(Problem):
    """A protocol header (Upload-Length, Upload-Offset, Upload-Checksum) that is missing or malformed."""

    status = 400
    code = "bad_request"

    def __init__(self, header: str, detail: str, msg: str, type_: str = "value_error") -> None:
        super().__init__(detail, errors=[field_error([header], msg, type_)])


class BadUploadMetadata(Unprocessable):
    def __init__(self, key: str, detail: str, msg: str, type_: str) -> None:
        super().__init__(detail, errors=[field_error(["Upload-Metadata", key], msg, type_)])


class ChunkContentTypeUnsupported(Problem):
    status = 415
    code = "unsupported_media_type"
    title = "不支持的内容类型"

    def __init__(self, expected: str) -> None:
        super().__init__(f"Content-Type 必须是 {expected}")


class UploadTooLarge(Problem):
    status = 413
    code = "upload_too_large"
    title = "文件过大"

    def __init__(self, length: int, max_bytes: int) -> None:
        super().__init__(
            f"文件 {length} 字节，超过上限 {max_bytes} 字节",
            errors=[field_error(["Upload-Length"], f"at most {max_bytes} bytes", "less_than_equal")],
        )


class EmptyUpload(FieldError):
    default_detail = "空文件不能作为附件"
    default_msg = "an attachment has at least one byte"
    error_type = "greater_than"

    def __init__(self) -> None:
        super().__init__(["Upload-Length"])


class FileTypeUnsupported(Problem):
    status = 415
    code = "unsupported_media_type"
    title = "不支持的文件类型"

    def __init__(self, filetype: str, allowed: Iterable[str]) -> None:
        super().__init__(
            f"不支持的文件类型 {filetype}，仅限图片和音频：{', '.join(sorted(allowed))}",
            errors=[field_error(["Upload-Metadata", "filetype"], "not an allowed image or audio type", "enum")],
        )


class UploadInProgress(Conflict):
    code = "upload_in_progress"
    default_detail = "该上传正在接收另一个分片，请稍后 HEAD 查询偏移再续传"

    def __init__(self, upload_offset: int) -> None:
        super().__init__(upload_offset=upload_offset)


class OffsetMismatch(Conflict):
    code = "offset_mismatch"

    def __init__(self, sent: int, current: int) -> None:
        super().__init__(f"Upload-Offset {sent} 与服务器偏移 {current} 不符，请先 HEAD 查询偏移", upload_offset=current)


class LeaseLost(Conflict):
    """The PATCH streamed so long that its lease ran out and another PATCH took the upload over."""

    code = "offset_mismatch"
    default_detail = "该分片接收过久，上传已被另一个请求接管；本分片未写入，请 HEAD 查询偏移后续传"

    def __init__(self, upload_offset: int) -> None:
        super().__init__(upload_offset=upload_offset)


class ChunkExceedsUpload(Problem):
    status = 413
    code = "chunk_too_large"
    title = "分片过大"

    def __init__(self, remaining: int) -> None:
        super().__init__(f"分片超出文件声明的长度，剩余 {remaining} 字节；本分片未写入")


class ChecksumMismatch(Problem):
    status = 460
    code = "checksum_mismatch"
    title = "Checksum Mismatch"
    default_detail = "分片校验和不符，本分片已丢弃，请从原偏移重传"

    def __init__(self) -> None:
        super().__init__(
            errors=[field_error(["Upload-Checksum"], "the chunk does not match its checksum", "checksum_mismatch")]
        )


class Sha256Mismatch(FieldError):
    default_detail = "上传的文件与声明的 sha256 不符，已丢弃，请重新上传"
    error_type = "sha256_mismatch"

    def __init__(self, digest: str) -> None:
        super().__init__(["Upload-Metadata", "sha256"], msg=f"the uploaded bytes hash to {digest}")


class UploadFinished(Conflict):
    """tus lets a server refuse to terminate a finished upload: it is the only record that the worker
    sent the file."""

    code = "upload_finished"
    default_detail = "上传已完成，文件已作为附件保存，不能终止"

    def __init__(self, upload_offset: int) -> None:
        super().__init__(upload_offset=upload_offset)


class FileContentMismatch(FieldError):
    """The finished file's own bytes (its magic number) are not the type its Upload-Metadata declares."""

    error_type = "file_content_mismatch"

    def __init__(self, filetype: str) -> None:
        super().__init__(
            ["Upload-Metadata", "filetype"],
            f"文件内容与声明的类型 {filetype} 不符，已丢弃，请重新上传",
            msg=f"the file's bytes are not {filetype}",
        )


class DailyUploadQuotaExceeded(Problem):
    """A worker's uploads of one China-time day past the daily count or bytes (ATTACHMENT_DAILY_*)."""

    status = 429
    code = "upload_quota_exceeded"
    title = "今日上传已达上限"

    def __init__(self, limit: str, retry_after: int) -> None:
        super().__init__(
            f"今日上传已达上限：{limit}，请明天再传",
            headers={"Retry-After": str(retry_after)},
            errors=[field_error(["Upload-Length"], f"daily upload quota reached: {limit}", "quota_exceeded")],
        )


class DocumentNotStored(NotFound):
    """No finished upload of this file by the one attaching it (cases' grant of a case document)."""

    code = DOCUMENT_NOT_STORED
    default_detail = "文件不存在或不是由该用户上传完成的"


class DocumentTypeNotAllowed(Unprocessable):
    code = DOCUMENT_TYPE_UNSUPPORTED

    def __init__(self, filetype: str) -> None:
        super().__init__(
            f"案卷材料只能是图片、录音或 PDF 文件（此文件为 {filetype}）",
            errors=[field_error(["body", "sha256"], "not an image, audio or PDF file", "enum")],
        )


class UploadersOnly(NotFound):
    """tus uploads are for grid workers' phones, dispatchers and department staff; to others they do not exist."""

    default_detail = "资源不存在"
