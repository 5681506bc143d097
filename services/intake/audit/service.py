"""The audit log (审计日志): each look at or take-out of personal data is an entry, written in the
transaction of the act itself; entries are kept at least six months (Cybersecurity Law, art. 21)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.audit import repository
from shared.auth import Principal
from shared.clock import clock
from shared.settings import audit_cut


async def record(
    session: AsyncSession,
    principal: Principal,
    action: str,
    object_type: str,
    object_id: str | None,
    reason: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    await repository.append(
        session,
        clock.now(),
        f"{principal.role}:{principal.username or principal.subject}",
        action,
        object_type,
        object_id,
        reason,
        detail or {},
    )


async def prune(session: AsyncSession, now: datetime, retention_days: float, limit: int) -> int:
    """Delete up to `limit` entries older than the retention — never one younger than six months."""
    return await repository.prune(session, audit_cut(now, retention_days), limit)
