"""Wire models of case documents."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

DocumentKind = Literal["agreement", "judicial_confirmation", "record", "photo", "other"]


class DocumentIn(BaseModel):
    """POST /v1/cases/{id}/documents: a file the caller uploaded through intake's tus endpoint."""

    model_config = ConfigDict(extra="forbid")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="hex digest of the uploaded file")
    kind: DocumentKind = Field(
        description="agreement 调解协议书 · judicial_confirmation 司法确认书 · record 笔录 · photo 照片 · other"
    )
    title: str = Field(min_length=1, max_length=200)

    @field_validator("title", mode="before")
    @classmethod
    def _storable(cls, v: object) -> object:
        if isinstance(v, str) and ("\x00" in v or any("\ud800" <= ch <= "\udfff" for ch in v)):
            raise ValueError("文本含有不允许的字符（NUL 或无效的 Unicode）")
        return v
