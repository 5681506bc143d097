"""What a report or a desk registration may say, shared by intake (a phone's items) and cases (the centre's
desk): the dispute categories (DOMAIN.md "What comes in") and the checks of an ID number and a phone."""

from __future__ import annotations

import re

DISPUTE_CATEGORIES = {
    "family": "婚姻家庭",
    "neighbour": "邻里",
    "land": "土地山林",
    "housing": "房屋宅基地",
    "debt": "债务",
    "wages": "劳资欠薪",
    "property_mgmt": "物业",
    "traffic": "交通事故",
    "medical": "医疗",
    "consumer": "消费",
    "expropriation": "征地拆迁",
    "environment": "环境",
    "other": "其他",
}

_ID18 = re.compile(r"^\d{17}[\dXx]$")
_ID15 = re.compile(r"^\d{15}$")
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
