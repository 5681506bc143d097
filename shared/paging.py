"""Opaque list cursors shared by every service: (timestamp, id) of the last item, base64url JSON."""

from __future__ import annotations

import base64
import uuid
from datetime import datetime
from typing import Generic, TypeVar

import orjson
from pydantic import BaseModel

from shared.errors import Unprocessable


def encode_cursor(at: datetime, row_id: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(orjson.dumps([at.isoformat(), str(row_id)])).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        at, rid = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        parsed = datetime.fromisoformat(at)
        if parsed.tzinfo is None:
            raise ValueError("naive")
        return parsed, uuid.UUID(rid)
    except (ValueError, TypeError, orjson.JSONDecodeError):
        raise Unprocessable(
            "分页游标无效", errors=[{"loc": ["query", "cursor"], "msg": "invalid cursor", "type": "value_error"}]
        ) from None


ItemT = TypeVar("ItemT")


class Page(BaseModel, Generic[ItemT]):
    """One page of a list response: the items and the cursor of the next page (null on the last)."""

    items: list[ItemT]
    next_cursor: str | None = None
