"""Log lines never carry a full ID number or mobile number, whatever way they are written."""

from __future__ import annotations

import pytest

from shared.logging import scrub


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("电话 13912345678 已登记", "电话 139****5678 已登记"),
        ("phone=+8613912345678", "phone=+86139****5678"),
        ("phone 8613912345678.", "phone 86139****5678."),
        ("tel: +86 139 1234 5678", "tel: +86 139****5678"),
        ("tel: +86-139-1234-5678", "tel: +86-139****5678"),
        ("身份证 62060219900101123X", "身份证 6206**********123X"),
        ("旧身份证 620602900101123 在案", "旧身份证 6206********123 在案"),
    ],
)
def test_id_numbers_and_mobiles_are_masked_in_every_common_spelling(raw, masked):
    assert scrub(raw) == masked


def test_other_numbers_are_left_alone():
    for text in ("report R20261120-000123", "amount 86000.00", "order 1234567890123456", "ms 1732000000000"):
        assert scrub(text) == text
