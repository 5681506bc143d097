"""All SQL of the directory copy: its live rows replaced on each directory.changed from cases (retired
ones kept, marked inactive), the areas and departments of the phones' reference data, and grid binding."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


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


async def scoped_areas_and_departments(
    session: AsyncSession, scopes: dict[str, tuple[str, ...]]
) -> dict[str, tuple[list[dict[str, Any]], list[dict[str, Any]]]]:
    """For many scopes at once (keyed like `scopes`), in two statements: the live areas at or below the
    scope and the live ancestors of its live areas, and the live departments of those areas."""
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
                """SELECT code, name, kind, area_code FROM intake.departments
                   WHERE active AND area_code = ANY(:c) ORDER BY code"""
            ),
            {"c": codes},
        )
        for d in result.mappings():
            depts_by_area[d["area_code"]].append(dict(d))
    out = {}
    for key in scopes:
        areas = areas_of.get(key, [])
        departments = sorted((d for a in areas for d in depts_by_area.get(a["code"], [])), key=lambda d: d["code"])
        out[key] = (areas, departments)
    return out


async def bound_areas(session: AsyncSession, token_areas: list[str], grids: list[str]) -> set[str]:
    """Where the worker may file a report, in one statement: the areas their token names unless intake's
    copy knows one as retired (one it has not heard of yet still binds: a valid report is never refused
    for our lag), and those of `grids` that are live and lie below such an area (a retired grid binds no
    new report; its old reports keep their scope)."""
    if not token_areas:
        return set()
    result = await session.execute(
        text(
            """WITH bound AS (
                 SELECT t.code FROM unnest(CAST(:t AS text[])) AS t(code)
                 WHERE NOT EXISTS (SELECT 1 FROM intake.areas a WHERE a.code = t.code AND NOT a.active))
               SELECT code FROM bound
               UNION
               SELECT a.code FROM intake.areas a
               WHERE a.active AND a.code = ANY(CAST(:g AS text[])) AND a.path && ARRAY(SELECT code FROM bound)"""
        ),
        {"t": token_areas, "g": grids},
    )
    return {r.code for r in result}


async def replace_categories(session: AsyncSession, categories: list[dict[str, Any]], now: datetime) -> None:
    """The live categories become exactly these, in this order (the others are kept, retired)."""
    await session.execute(
        text(
            """UPDATE intake.categories SET active = false, updated_at = :now
               WHERE active AND NOT (code = ANY(CAST(:codes AS text[])))"""
        ),
        {"codes": [c["code"] for c in categories], "now": now},
    )
    if categories:
        await session.execute(
            text(
                """INSERT INTO intake.categories (code, name, position, active, updated_at)
                   SELECT code, name, ord, true, :now
                   FROM unnest(CAST(:codes AS text[]), CAST(:names AS text[])) WITH ORDINALITY AS c(code, name, ord)
                   ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, position = EXCLUDED.position,
                     active = true, updated_at = EXCLUDED.updated_at"""
            ),
            {"codes": [c["code"] for c in categories], "names": [c["name"] for c in categories], "now": now},
        )


async def live_categories(session: AsyncSession) -> list[dict[str, Any]]:
    """The live dispute categories [{code, name}] in list order."""
    result = await session.execute(
        text("SELECT code, name FROM intake.categories WHERE active ORDER BY position, code")
    )
    return [{"code": r.code, "name": r.name} for r in result]
