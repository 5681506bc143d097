"""Cases asks intake to confirm a stored file and grant its fetch to those who may see a case (a case
document, POST /v1/cases/{id}/documents)."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, Field

ATTACHMENT_GRANTS_PATH = "/internal/v1/attachment-grants"
# what a case document may be: an image, a recording or a PDF (a mediation agreement, a 司法确认书 scan)
DOCUMENT_TYPE_PREFIXES = ("image/", "audio/")
DOCUMENT_TYPES = ("application/pdf",)
DOCUMENT_NOT_STORED = "document_not_stored"  # intake's 404 code: no finished upload of it by the uploader
DOCUMENT_TYPE_UNSUPPORTED = "document_type_unsupported"  # intake's 422 code: stored, but not image/audio/PDF


def is_document_type(filetype: str) -> bool:
    return filetype.startswith(DOCUMENT_TYPE_PREFIXES) or filetype in DOCUMENT_TYPES


class AttachmentGrant(BaseModel):
    """The file (by sha256) that `uploader` (a user id, the token's subject) finished uploading, attached to
    `case_id`, whose area path decides which centres and leaders may fetch it; departments are asked of
    cases by the case id (CASE_ACCESS_PATH)."""

    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    case_id: uuid.UUID
    area_path: list[str] = Field(min_length=1, max_length=10)
    uploader: str = Field(min_length=1, max_length=80)
    granted_by: str = Field(min_length=1, max_length=120)


class GrantedFile(BaseModel):
    sha256: str
    filetype: str
    size: int
    filename: str | None = None
