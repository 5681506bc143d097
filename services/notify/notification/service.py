"""In-app messages (站内消息): each user sees only their own (admins may look into another's); and the
notifications the rules record for every recipient."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.notify.notification import repository as repo
from services.notify.notification.exceptions import NoInbox, NotificationNotFound
from services.notify.notification.schemas import NotificationOut, NotificationPage
from shared.auth import Principal
from shared.clock import clock
from shared.paging import decode_cursor, encode_cursor

INBOX_ROLES = ("dispatcher", "leader", "department_staff", "admin")


def _recipient(principal: Principal, recipient: str | None) -> str:
    if principal.role not in INBOX_ROLES:
        raise NoInbox()
    if recipient and recipient != principal.username:
        if principal.role != "admin":
            raise NoInbox()
        return f"user:{recipient}"
    return f"user:{principal.username}"


def _out(r: Any) -> NotificationOut:
    return NotificationOut(
        id=r.id,
        event_type=r.event_type,
        title=r.title,
        body=r.body,
        case_id=r.case_id,
        created_at=r.created_at,
        read_at=r.read_at,
        status="read" if r.read_at else "unread",
    )


async def record(session: AsyncSession, rows: list[dict[str, Any]]) -> set[uuid.UUID]:
    """Keep the notifications the rules made; returns the ids that are new (a repeat is not)."""
    return await repo.insert_many(session, rows)


async def list_for(
    session: AsyncSession,
    principal: Principal,
    recipient: str | None,
    status: str | None,
    cursor: str | None,
    limit: int,
) -> NotificationPage:
    who = _recipient(principal, recipient)
    after = decode_cursor(cursor) if cursor else None
    rows = await repo.inbox_page(session, who, status, after, limit + 1)
    unread = await repo.unread_count(session, who)
    more = len(rows) > limit
    rows = rows[:limit]
    nxt = encode_cursor(rows[-1].created_at, rows[-1].id) if more and rows else None
    return NotificationPage(items=[_out(r) for r in rows], next_cursor=nxt, unread=unread)


async def mark_read(session: AsyncSession, principal: Principal, notification_id: uuid.UUID) -> NotificationOut:
    who = _recipient(principal, None)
    row = await repo.mark_read(session, notification_id, who, clock.now())
    if row is None:
        raise NotificationNotFound()
    return _out(row)
