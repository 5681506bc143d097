"""The audit log (审计日志): each look at or take-out of personal data is an entry, written in the
transaction of the act itself; entries are kept at least six months (shared/audit.py)."""

from __future__ import annotations

from services.intake.audit.models import audit_log
from shared.audit import AuditLog
from shared.db import Database

log = AuditLog(audit_log)
record = log.record  # (session, principal, action, object_type, object_id, reason=None, detail=None)


async def prune_audit(db: Database, retention_days: float, batch: int) -> int:
    """The hourly retention tick: entries older than AUDIT_RETENTION_DAYS (at least 183) go."""
    return await log.prune_all(db, retention_days, batch)
