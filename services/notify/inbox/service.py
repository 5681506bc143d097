"""In-app notifications: each user sees only their own (admins may look into another's)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import text

from shared.auth import Principal
from shared.clock import clock
from shared.errors import NotFound
from shared.paging import decode_cursor, encode_cursor

INBOX_ROLES = ("dispatcher", "leader", "department_staff", "admin")


def _recipient(principal: Principal, recipient: str | None) -> str:
    if principal.role not in INBOX_ROLES:
        raise NotFound()
    if recipient and recipient != principal.username:
        if principal.role != "admin":
            raise NotFound()
        return f"user:{recipient}"
    return f"user:{principal.username}"


def _out(r: Any) -> dict[str, Any]:
    return {
        "id": str(r.id),
        "event_type": r.event_type,
        "title": r.title,
        "body": r.body,
        "case_id": r.case_id,
        "created_at": r.created_at,
        "read_at": r.read_at,
        "status": "read" if r.read_at else "unread",
    }


async def list_for(
    session: Any, principal: Principal, recipient: str | None, status: str | None, cursor: str | None, limit: int
) -> dict[str, Any]:
    who = _recipient(principal, recipient)
    where = [
        "n.recipient = :who",
        "EXISTS (SELECT 1 FROM notify.deliveries d WHERE d.notification_id = n.id AND d.channel = 'inbox')",
    ]
    params: dict[str, Any] = {"who": who, "n": limit + 1}
    if status == "unread":
        where.append("n.read_at IS NULL")
    elif status == "read":
        where.append("n.read_at IS NOT NULL")
    if cursor:
        params["a"], params["i"] = decode_cursor(cursor)
        where.append("(n.created_at, n.id) < (:a, :i)")
    rows = list(
        await session.execute(
            text(
                f"SELECT n.* FROM notify.notifications n WHERE {' AND '.join(where)} ORDER BY n.created_at DESC, n.id DESC LIMIT :n"
            ),
            params,
        )
    )
    unread = (
        await session.execute(
            text(
                """SELECT count(*) FROM notify.notifications n WHERE n.recipient = :who AND n.read_at IS NULL
           AND EXISTS (SELECT 1 FROM notify.deliveries d WHERE d.notification_id = n.id AND d.channel = 'inbox')"""
            ),
            {"who": who},
        )
    ).scalar()
    more = len(rows) > limit
    rows = rows[:limit]
    nxt = encode_cursor(rows[-1].created_at, rows[-1].id) if more and rows else None
    return {"items": [_out(r) for r in rows], "next_cursor": nxt, "unread": int(unread or 0)}


async def mark_read(session: Any, principal: Principal, notification_id: uuid.UUID) -> dict[str, Any]:
    who = _recipient(principal, None)
    row = (
        await session.execute(
            text(
                """UPDATE notify.notifications SET read_at = COALESCE(read_at, :now) WHERE id = :i AND recipient = :who RETURNING *"""
            ),
            {"i": notification_id, "who": who, "now": clock.now()},
        )
    ).first()
    if row is None:
        raise NotFound("消息不存在")
    return _out(row)
