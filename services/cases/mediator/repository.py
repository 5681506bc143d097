"""SQL of the mediator register."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


async def upsert(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Insert or update by code."""
    if not rows:
        return
    await session.execute(
        text(
            """INSERT INTO cases.mediators AS m (code, name, area_code, kind, committee, active, updated_at)
               VALUES (:code, :name, :area_code, :kind, :committee, :active, :now)
               ON CONFLICT (code) DO UPDATE SET name = excluded.name, area_code = excluded.area_code,
                 kind = excluded.kind, committee = excluded.committee, active = excluded.active,
                 updated_at = excluded.updated_at"""
        ),
        rows,
    )


async def active_codes(session: AsyncSession, codes: list[str]) -> set[str]:
    """Those of `codes` in the register and not retired (their area not retired either)."""
    if not codes:
        return set()
    result = await session.execute(
        text(
            """SELECT m.code FROM cases.mediators m JOIN cases.areas a ON a.code = m.area_code
               WHERE m.code = ANY(:c) AND m.active
                 AND NOT EXISTS (SELECT 1 FROM cases.areas r WHERE r.code = ANY(a.path) AND NOT r.active)"""
        ),
        {"c": codes},
    )
    return {r.code for r in result}


async def existing_codes(session: AsyncSession, codes: list[str]) -> set[str]:
    if not codes:
        return set()
    result = await session.execute(text("SELECT code FROM cases.mediators WHERE code = ANY(:c)"), {"c": codes})
    return {r.code for r in result}


async def in_area(session: AsyncSession, areas: list[str] | None) -> list[Any]:
    """The register (retired ones too: last month's subsidies may still be theirs) below any of `areas`
    (None: all), with the area's name."""
    where = "TRUE" if areas is None else "a.path && CAST(:areas AS text[])"
    result = await session.execute(
        text(
            f"""SELECT m.code, m.name, m.area_code, a.name AS area_name, m.kind, m.committee, m.active
                FROM cases.mediators m JOIN cases.areas a ON a.code = m.area_code
                WHERE {where} ORDER BY m.code"""
        ),
        {"areas": areas or []},
    )
    return list(result)
