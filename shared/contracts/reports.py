"""What a report or a desk registration may say, shared by intake (a phone's items) and cases (the centre's
desk): the checks of an ID number and a phone, text the database can store, and the location and party (当事人)
models both take. The dispute categories are data (the org document; services/cases/category)."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

_ID18 = re.compile(r"^\d{17}[\dXx]$")
_ID15 = re.compile(r"^\d{15}$")
_SPACE = re.compile(r"\s")
PHONE_PATTERN = re.compile(r"^(\+?86)?1[3-9]\d{9}$|^0\d{2,3}-?\d{7,8}$")
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


def id_number_valid(value: str) -> bool:
    """GB 11643 resident ID: 18 characters with the mod-11 check character (or the old 15 digits)."""
    if _ID15.match(value):
        return True
    if not _ID18.match(value):
        return False
    total = sum(int(c) * w for c, w in zip(value[:17], _WEIGHTS, strict=True))
    return _CHECK[total % 11] == value[17].upper()


def phone_valid(value: str) -> bool:
    """A mainland mobile number (optionally +86) or a landline with its area code."""
    return bool(PHONE_PATTERN.match(value))


# What PostgreSQL cannot store in text: NUL, and UTF-16 surrogates (only ever lone ones in a str).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
UNSTORABLE_MSG = "文本含有不允许的字符（NUL 或无效的 Unicode）"


def refuse_unstorable(value: Any) -> Any:
    """A field validator: text the database cannot store is this field's error, so only its item is
    rejected (naming the field) instead of the whole request failing when it is written."""
    if isinstance(value, str) and _UNSTORABLE.search(value):
        raise PydanticCustomError("string_unstorable", UNSTORABLE_MSG)
    return value


class Location(BaseModel):
    model_config = ConfigDict(extra="forbid")
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    address: str | None = Field(default=None, max_length=300)

    _storable = field_validator("*", mode="before")(refuse_unstorable)


class Party(BaseModel):
    """A party (当事人) as a grid worker or a dispatcher writes it down; ID number and phone are checked and
    normalised here, encrypted by whoever stores them."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=50)
    id_number: str | None = Field(default=None, max_length=18)
    phone: str | None = Field(default=None, max_length=20)
    role: str | None = Field(default=None, max_length=30, description="applicant 申请人/来访人 · respondent …")
    relation: str | None = Field(default=None, max_length=30)

    _storable = field_validator("*", mode="before")(refuse_unstorable)

    @field_validator("id_number")
    @classmethod
    def _id(cls, v: str | None) -> str | None:
        if v in (None, ""):
            return None
        v = v.strip().upper()
        if not id_number_valid(v):
            raise ValueError("身份证号码格式或校验位不正确")
        return v

    @field_validator("phone")
    @classmethod
    def _phone(cls, v: str | None) -> str | None:
        if v in (None, ""):
            return None
        v = _SPACE.sub("", v)
        if not phone_valid(v):
            raise ValueError("电话号码格式不正确")
        return v
