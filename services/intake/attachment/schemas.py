"""The tus 1.0.0 wire: protocol constants, parsers of its request headers, and what an upload's headers say.

Malformed protocol headers (Upload-Length, Upload-Offset, Upload-Checksum) are 400 as tus says;
the file's own description in Upload-Metadata (sha256, filetype, filename) is validated like a
payload: 422 with `errors[].loc = ["Upload-Metadata", <key>]`.
"""

from __future__ import annotations

import base64
import binascii
import re
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import datetime

from services.intake.attachment.exceptions import BadTusHeader, BadUploadMetadata
from services.intake.attachment.storage import CHECKSUM_ALGORITHMS, ChunkChecksum

TUS_VERSION = "1.0.0"
TUS_EXTENSIONS = "creation,checksum,expiration,termination"
TUS_CHECKSUM_ALGORITHMS = ",".join(CHECKSUM_ALGORITHMS)
OFFSET_OCTET_STREAM = "application/offset+octet-stream"
TUS_HEADERS = {"Tus-Resumable": TUS_VERSION}

_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_INTEGER = re.compile(r"^[0-9]{1,19}$")
_METADATA_KEY = re.compile(r"^[^\s,]+$")
FILENAME_MAX = 255


@dataclass(frozen=True)
class UploadMetadata:
    sha256: str
    filetype: str
    filename: str | None

    def encode(self) -> str:
        """As an Upload-Metadata header value."""
        pairs = {"sha256": self.sha256, "filetype": self.filetype, "filename": self.filename}
        return ",".join(f"{k} {base64.b64encode(v.encode()).decode('ascii')}" for k, v in pairs.items() if v)


@dataclass(frozen=True)
class UploadState:
    """What the tus headers of an upload say."""

    id: uuid.UUID
    offset: int
    length: int
    expires_at: datetime | None  # None once finished
    metadata: UploadMetadata


def parse_non_negative(header: str, value: str | None) -> int:
    """Upload-Length / Upload-Offset: a non-negative decimal integer."""
    if value is None or not value.strip():
        raise BadTusHeader(header, f"缺少 {header} 请求头", "header required", "missing")
    value = value.strip()
    if not _INTEGER.match(value):
        raise BadTusHeader(header, f"{header} 必须是非负整数", "not a non-negative integer", "int_parsing")
    return int(value)


def parse_metadata(value: str | None) -> UploadMetadata:
    """Upload-Metadata: comma-separated `key base64(value)` pairs (a key may come without value)."""
    pairs: dict[str, str] = {}
    for part in (value or "").split(","):
        part = part.strip()
        if not part:
            continue
        key, _, encoded = part.partition(" ")
        encoded = encoded.strip()
        if not _METADATA_KEY.match(key) or " " in encoded:
            raise BadUploadMetadata(
                key or "?", "Upload-Metadata 格式错误（应为 key base64值，逗号分隔）", "malformed pair", "value_error"
            )
        if key in pairs:
            raise BadUploadMetadata(key, f"Upload-Metadata 中 {key} 重复", "duplicate key", "value_error")
        try:
            decoded = base64.b64decode(encoded, validate=True).decode("utf-8") if encoded else ""
        except (binascii.Error, ValueError):
            raise BadUploadMetadata(
                key, f"Upload-Metadata 中 {key} 不是 base64 编码的 UTF-8", "not base64 of UTF-8", "value_error"
            ) from None
        pairs[key] = decoded

    sha256 = pairs.get("sha256", "").strip().lower().removeprefix("sha256:")
    if not sha256:
        raise BadUploadMetadata(
            "sha256", "Upload-Metadata 必须含整个文件的 sha256（十六进制）", "field required", "missing"
        )
    if not _HEX64.match(sha256):
        raise BadUploadMetadata("sha256", "sha256 必须是 64 位十六进制", "not 64 hex digits", "string_pattern_mismatch")

    filetype = pairs.get("filetype", "").split(";")[0].strip().lower()
    if not filetype:
        raise BadUploadMetadata(
            "filetype", "Upload-Metadata 必须含 filetype（如 image/jpeg）", "field required", "missing"
        )

    return UploadMetadata(sha256=sha256, filetype=filetype, filename=clean_filename(pairs.get("filename")))


def clean_filename(value: str | None) -> str | None:
    """Keep only a display name: no directories, no control characters, at most 255 characters."""
    if not value:
        return None
    name = value.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip()
    return name[:FILENAME_MAX] or None


def parse_checksum(value: str | None) -> ChunkChecksum | None:
    """Upload-Checksum: `<algorithm> <base64 digest>` of this chunk (tus checksum extension)."""
    if value is None or not value.strip():
        return None
    algorithm, _, encoded = value.strip().partition(" ")
    algorithm = algorithm.lower()
    if algorithm not in CHECKSUM_ALGORITHMS:
        raise BadTusHeader(
            "Upload-Checksum",
            f"不支持的校验算法 {algorithm}，可用：{TUS_CHECKSUM_ALGORITHMS}",
            "unsupported checksum algorithm",
            "enum",
        )
    try:
        digest = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        digest = b""
    if len(digest) != CHECKSUM_ALGORITHMS[algorithm]().digest_size:
        raise BadTusHeader(
            "Upload-Checksum", "Upload-Checksum 应为“算法 base64摘要”", "malformed digest", "value_error"
        )
    return ChunkChecksum(algorithm=algorithm, digest=digest)


def is_offset_octet_stream(content_type: str | None) -> bool:
    return (content_type or "").split(";")[0].strip().lower() == OFFSET_OCTET_STREAM


def parse_sha256(value: str) -> str | None:
    """A path's sha256 (64 hex, `sha256:` prefix allowed) in lowercase, or None."""
    value = value.strip().lower().removeprefix("sha256:")
    return value if _HEX64.match(value) else None
