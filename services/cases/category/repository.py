"""SQL of the dispute categories."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


async def active(session: AsyncSession) -> list[Any]:
    """The live categories (code, name) in list order."""
    result = await session.execute(text("SELECT code, name FROM cases.categories WHERE active ORDER BY position, code"))
    return list(result)


async def is_active(session: AsyncSession, code: str) -> bool:
    return bool(
        (
            await session.execute(
                text("SELECT EXISTS (SELECT 1 FROM cases.categories WHERE code = :c AND active)"), {"c": code}
            )
        ).scalar()
    )


async def upsert(session: AsyncSession, rows: list[dict[str, Any]], now: datetime) -> tuple[int, int]:
    """Upsert by code in one statement: a known category keeps its place in the list, a new one is added
    after the others in the given order. Returns (created, updated)."""
    if not rows:
        return 0, 0
    result = await session.execute(
        text(
            """WITH doc AS (
                 SELECT * FROM unnest(CAST(:code AS text[]), CAST(:name AS text[]), CAST(:active AS boolean[]))
                   WITH ORDINALITY AS d(code, name, active, ord)),
               base AS (SELECT COALESCE(max(position), -1) AS top FROM cases.categories)
               INSERT INTO cases.categories (code, name, position, active, updated_at)
               SELECT doc.code, doc.name, base.top + doc.ord, doc.active, :now FROM doc, base ORDER BY doc.ord
               ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, active = EXCLUDED.active,
                 updated_at = EXCLUDED.updated_at
               RETURNING (xmax = 0) AS created"""
        ),
        {
            "code": [r["code"] for r in rows],
            "name": [r["name"] for r in rows],
            "active": [r["active"] for r in rows],
            "now": now,
        },
    )
    created = sum(1 for r in result if r.created)
    return created, len(rows) - created
