"""SQL of case documents."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


async def insert(session: AsyncSession, row: dict[str, Any]) -> bool:
    """One document per file and case: a repeat is a no-op (False)."""
    result = await session.execute(
        text(
            """INSERT INTO cases.case_documents
                 (id, case_id, sha256, kind, title, filetype, size, filename, attached_by, attached_at)
               VALUES (:id, :case_id, :sha256, :kind, :title, :filetype, :size, :filename, :attached_by, :attached_at)
               ON CONFLICT (case_id, sha256) DO NOTHING RETURNING 1"""
        ),
        row,
    )
    return result.first() is not None


async def of_case(session: AsyncSession, case_id: uuid.UUID) -> list[Any]:
    result = await session.execute(
        text(
            """SELECT id, sha256, kind, title, filetype, size, filename, attached_by, attached_at
               FROM cases.case_documents WHERE case_id = :c ORDER BY attached_at, id"""
        ),
        {"c": case_id},
    )
    return list(result)
