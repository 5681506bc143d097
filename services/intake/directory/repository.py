"""The directory copy: its live rows replaced on each directory.changed from cases (retired ones kept,
marked inactive), and the reference data phones keep offline, computed from the live rows."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.report.schemas import DISPUTE_CATEGORIES, RISK_FLAGS


async def replace(
    session: AsyncSession, areas: list[dict[str, Any]], departments: list[dict[str, Any]], now: datetime
) -> None:
    """The copy's live rows become exactly the snapshot: rows it no longer has are kept but marked
    retired (active = false: they bind no new report and leave the phones' reference data, yet the old
    reports of a retired grid stay in their township's scope), the others upserted as active."""
    await session.execute(
        text(
            """UPDATE intake.areas SET active = false, updated_at = :now
               WHERE active AND NOT (code = ANY(CAST(:codes AS text[])))"""
        ),
        {"codes": [a["code"] for a in areas], "now": now},
    )
    await session.execute(
        text(
            """UPDATE intake.departments SET active = false, updated_at = :now
               WHERE active AND NOT (code = ANY(CAST(:codes AS text[])))"""
        ),
        {"codes": [d["code"] for d in departments], "now": now},
    )
    if areas:
        await session.execute(
            text(
                """INSERT INTO intake.areas (code, name, level, parent_code, path, active, updated_at)
                   VALUES (:code, :name, :level, :parent_code, :path, true, :now)
                   ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, level = EXCLUDED.level,
                     parent_code = EXCLUDED.parent_code, path = EXCLUDED.path, active = true,
                     updated_at = EXCLUDED.updated_at"""
            ),
            [{**a, "now": now} for a in areas],
        )
    if departments:
        await session.execute(
            text(
                """INSERT INTO intake.departments (code, name, kind, area_code, active, updated_at)
                   VALUES (:code, :name, :kind, :area_code, true, :now)
                   ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, kind = EXCLUDED.kind,
                     area_code = EXCLUDED.area_code, active = true, updated_at = EXCLUDED.updated_at"""
            ),
            [{**d, "now": now} for d in departments],
        )


async def worker_scopes(session: AsyncSession) -> dict[str, tuple[str, ...]]:
    """The grid workers and their bound areas, as the last directory said."""
    result = await session.execute(text("SELECT worker_id, areas FROM intake.workers"))
    return {r.worker_id: tuple(r.areas) for r in result}


async def replace_workers(session: AsyncSession, scopes: dict[str, tuple[str, ...]], now: datetime) -> None:
    await session.execute(
        text("DELETE FROM intake.workers WHERE NOT (worker_id = ANY(CAST(:ids AS text[])))"), {"ids": list(scopes)}
    )
    if scopes:
        await session.execute(
            text(
                """INSERT INTO intake.workers (worker_id, areas, updated_at) VALUES (:w, :areas, :now)
                   ON CONFLICT (worker_id) DO UPDATE SET areas = EXCLUDED.areas, updated_at = EXCLUDED.updated_at
                   WHERE intake.workers.areas IS DISTINCT FROM EXCLUDED.areas"""
            ),
            [{"w": w, "areas": list(a), "now": now} for w, a in sorted(scopes.items())],
        )


# For each (key, scope): the live areas at or below the scope, and the live ancestors of the scope's
# live areas.
_REFERENCE_AREAS = """
    WITH w AS (
      SELECT key, ARRAY(SELECT jsonb_array_elements_text(scope)) AS scope
      FROM jsonb_to_recordset(CAST(:scopes AS jsonb)) AS s(key text, scope jsonb)
    )
    SELECT w.key, a.code, a.name, a.level, a.parent_code
    FROM w CROSS JOIN LATERAL (
      SELECT code, name, level, parent_code FROM intake.areas WHERE active AND path && w.scope
      UNION
      SELECT code, name, level, parent_code FROM intake.areas
      WHERE active AND code IN (SELECT unnest(m.path) FROM intake.areas m WHERE m.active AND m.code = ANY(w.scope))
    ) a
    ORDER BY w.key, a.code
"""


async def references_for(session: AsyncSession, scopes: dict[str, tuple[str, ...]]) -> dict[str, dict[str, Any]]:
    """Reference data of many workers at once (keyed like `scopes`), in two statements."""
    if not scopes:
        return {}
    payload = orjson.dumps([{"key": k, "scope": list(v)} for k, v in scopes.items()]).decode()
    areas_of: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in (await session.execute(text(_REFERENCE_AREAS), {"scopes": payload})).mappings():
        areas_of[row["key"]].append(
            {"code": row["code"], "name": row["name"], "level": row["level"], "parent_code": row["parent_code"]}
        )
    codes = sorted({a["code"] for rows in areas_of.values() for a in rows})
    depts_by_area: dict[str, list[dict[str, Any]]] = defaultdict(list)
    if codes:
        result = await session.execute(
            text(
                "SELECT code, name, kind, area_code FROM intake.departments WHERE active AND area_code = ANY(:c) ORDER BY code"
            ),
            {"c": codes},
        )
        for d in result.mappings():
            depts_by_area[d["area_code"]].append(dict(d))
    out = {}
    for key, scope in scopes.items():
        areas = areas_of.get(key, [])
        departments = sorted((d for a in areas for d in depts_by_area.get(a["code"], [])), key=lambda d: d["code"])
        out[key] = {
            "areas": areas,
            "departments": departments,
            "categories": [{"code": k, "name": v} for k, v in DISPUTE_CATEGORIES.items()],
            "flags": list(RISK_FLAGS),
            "grids": list(scope),
        }
    return out


async def reference_for(session: AsyncSession, scope: tuple[str, ...]) -> dict[str, Any]:
    """Reference data a phone keeps offline: the worker's grids and their ancestors and children,
    the departments of those areas, categories and risk flags."""
    return (await references_for(session, {"": tuple(scope)}))[""]
