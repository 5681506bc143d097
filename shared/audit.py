"""The audit log (审计日志) every service keeps of who looked at or took out personal data: one table per
service schema (`audit_log_table`), an entry written in the transaction of the act itself, and a retention
tick that never deletes an entry younger than six months (Cybersecurity Law, art. 21; `audit_cut`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

import orjson
from sqlalchemy import BigInteger, Column, CursorResult, DateTime, Index, MetaData, Table, Text, delete, insert, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth import Principal, actor_name
from shared.clock import clock
from shared.db import Database, prune_in_batches
from shared.settings import audit_cut


def audit_log_table(metadata: MetaData) -> Table:
    """The service's `audit_log` in its schema (the metadata's)."""
    return Table(
        "audit_log",
        metadata,
        Column("id", BigInteger, primary_key=True, autoincrement=True),
        Column("at", DateTime(timezone=True), nullable=False),
        Column("actor", Text, nullable=False),  # role:username (or role:subject)
        Column("action", Text, nullable=False),  # e.g. reveal_parties, export_ledger, download_attachment
        Column("object_type", Text, nullable=False),
        Column("object_id", Text),
        Column("reason", Text),
        Column("detail", JSONB, nullable=False, server_default="{}"),
        Index("ix_audit_log_at", "at"),
    )


class AuditLog:
    """Appends to and prunes one service's audit log."""

    def __init__(self, table: Table) -> None:
        self.table = table

    async def record(
        self,
        session: AsyncSession,
        principal: Principal,
        action: str,
        object_type: str,
        object_id: str | None,
        reason: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        await session.execute(
            insert(self.table).values(
                at=clock.now(),
                actor=actor_name(principal),
                action=action,
                object_type=object_type,
                object_id=object_id,
                reason=reason,
                detail=orjson.loads(orjson.dumps(detail or {}, default=str)),  # dates and the like as text
            )
        )

    async def prune(self, session: AsyncSession, now: datetime, retention_days: float, limit: int) -> int:
        """Delete up to `limit` entries older than the retention — never one younger than six months."""
        oldest = (
            select(self.table.c.id)
            .where(self.table.c.at < audit_cut(now, retention_days))
            .order_by(self.table.c.at)
            .limit(limit)
        )
        result = await session.execute(delete(self.table).where(self.table.c.id.in_(oldest.scalar_subquery())))
        return cast("CursorResult[Any]", result).rowcount or 0

    async def prune_all(self, db: Database, retention_days: float, batch: int) -> int:
        """The retention tick: old entries in short transactions of `batch` rows."""
        now = clock.now()

        async def one_batch(session: AsyncSession, n: int) -> int:
            return await self.prune(session, now, retention_days, n)

        return await prune_in_batches(db, one_batch, batch)
