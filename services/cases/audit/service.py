"""The audit log (审计日志): each look at or take-out of personal data is an entry, written in the
transaction of the act itself; entries are kept at least six months (Cybersecurity Law, art. 21)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.cases.audit import repository
from services.cases.principal import actor_name
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
        session, clock.now(), actor_name(principal), action, object_type, object_id, reason, detail or {}
    )


async def prune(session: AsyncSession, now: datetime, retention_days: float, limit: int) -> int:
    """Delete up to `limit` entries older than the retention — never one younger than six months."""
    return await repository.prune(session, audit_cut(now, retention_days), limit)


async def record_export(session: AsyncSession, principal: Principal, format: str, filters: dict[str, Any]) -> None:
    """A ledger (台账) taken out as a file: who, when, which format and filter."""
    used = {k: v for k, v in filters.items() if k != "now" and v not in (None, False, "")}
    await record(session, principal, "export_ledger", "ledger", None, None, {"format": format, "filters": used})
