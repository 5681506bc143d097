"""Idempotency-Key misuse."""

from __future__ import annotations

from shared.errors import FieldError, field_error


class IdempotencyKeyReused(FieldError):
    code = "idempotency_key_reused"
    default_detail = "同一 Idempotency-Key 已用于不同的请求内容"

    def __init__(self) -> None:
        loc = ["header", "Idempotency-Key"]
        super().__init__(loc, errors=[field_error(loc, "key reused with another body", "idempotency_key_reused")])
