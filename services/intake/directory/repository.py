"""The directory copy: replaced whole on each directory.changed from cases."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.report.schemas import DISPUTE_CATEGORIES, RISK_FLAGS


async def replace(session: AsyncSession, areas: list[dict[str, Any]], departments: list[dict[str, Any]], now: datetime) -> None:
    if areas:
        await session.execute(
            text(
                """INSERT INTO intake.areas (code, name, level, parent_code, path, updated_at)
                   VALUES (:code, :name, :level, :parent_code, :path, :now)
                   ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, level = EXCLUDED.level,
                     parent_code = EXCLUDED.parent_code, path = EXCLUDED.path, updated_at = EXCLUDED.updated_at"""
            ),
            [{**a, "now": now} for a in areas],
        )
    if departments:
        await session.execute(
            text(
                """INSERT INTO intake.departments (code, name, kind, area_code, updated_at)
                   VALUES (:code, :name, :kind, :area_code, :now)
                   ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, kind = EXCLUDED.kind,
                     area_code = EXCLUDED.area_code, updated_at = EXCLUDED.updated_at"""
            ),
            [{**d, "now": now} for d in departments],
        )


async def reference_for(session: AsyncSession, scope: tuple[str, ...]) -> dict[str, Any]:
    """Reference data a phone keeps offline: the worker's grids and their ancestors and children,
    the departments of those areas, categories and risk flags."""
    areas = (
        await session.execute(
            text(
                """WITH mine AS (SELECT path FROM intake.areas WHERE code = ANY(:scope))
                   SELECT code, name, level, parent_code FROM intake.areas a
                   WHERE a.path && CAST(:scope AS text[])
                      OR a.code IN (SELECT unnest(path) FROM mine)
                   ORDER BY code"""
            ),
            {"scope": list(scope)},
        )
    ).mappings().all()
    codes = [a["code"] for a in areas]
    departments = (
        await session.execute(
            text("SELECT code, name, kind, area_code FROM intake.departments WHERE area_code = ANY(:c) ORDER BY code"),
            {"c": codes},
        )
    ).mappings().all()
    return {
        "areas": [dict(a) for a in areas],
        "departments": [dict(d) for d in departments],
        "categories": [{"code": k, "name": v} for k, v in DISPUTE_CATEGORIES.items()],
        "flags": list(RISK_FLAGS),
        "grids": list(scope),
    }
