"""SQL of the org directory. Upserts report whether each row was new (xmax = 0)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


def _count(rows: list[Any]) -> tuple[int, int]:
    created = sum(1 for r in rows if r.inserted)
    return created, len(rows) - created


async def upsert_areas(session: AsyncSession, rows: list[dict[str, Any]]) -> tuple[int, int]:
    if not rows:
        return 0, 0
    out = []
    for row in rows:
        out.append(
            (
                await session.execute(
                    text(
                        """INSERT INTO cases.areas (code, name, level, parent_code, path, active, updated_at)
                           VALUES (:code, :name, :level, :parent_code, :path, :active, :now)
                           ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, level = EXCLUDED.level,
                             parent_code = EXCLUDED.parent_code, path = EXCLUDED.path, active = EXCLUDED.active,
                             updated_at = EXCLUDED.updated_at
                           RETURNING (xmax = 0) AS inserted"""
                    ),
                    row,
                )
            ).first()
        )
    return _count(out)


async def upsert_departments(session: AsyncSession, rows: list[dict[str, Any]]) -> tuple[int, int]:
    out = []
    for row in rows:
        out.append(
            (
                await session.execute(
                    text(
                        """INSERT INTO cases.departments (code, name, kind, area_code, webhook, active, updated_at)
                           VALUES (:code, :name, :kind, :area_code, CAST(:webhook AS jsonb), :active, :now)
                           ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, kind = EXCLUDED.kind,
                             area_code = EXCLUDED.area_code, webhook = EXCLUDED.webhook, active = EXCLUDED.active,
                             updated_at = EXCLUDED.updated_at
                           RETURNING (xmax = 0) AS inserted"""
                    ),
                    row,
                )
            ).first()
        )
    return _count(out)


async def password_hashes(session: AsyncSession, usernames: list[str]) -> dict[str, str | None]:
    result = await session.execute(
        text("SELECT username, password_hash FROM cases.users WHERE username = ANY(:u)"), {"u": usernames}
    )
    return {r.username: r.password_hash for r in result}


async def client_hashes(session: AsyncSession, ids: list[str]) -> dict[str, str]:
    result = await session.execute(
        text("SELECT client_id, secret_hash FROM cases.clients WHERE client_id = ANY(:c)"), {"c": ids}
    )
    return {r.client_id: r.secret_hash for r in result}


async def upsert_users(session: AsyncSession, rows: list[dict[str, Any]]) -> tuple[int, int]:
    out = []
    for row in rows:
        out.append(
            (
                await session.execute(
                    text(
                        """INSERT INTO cases.users (id, username, name, role, department_code, areas, password_hash,
                             phone_enc, phone_hash, active, updated_at)
                           VALUES (:id, :username, :name, :role, :department_code, :areas, :password_hash,
                             :phone_enc, :phone_hash, :active, :now)
                           ON CONFLICT (username) DO UPDATE SET name = EXCLUDED.name, role = EXCLUDED.role,
                             department_code = EXCLUDED.department_code, areas = EXCLUDED.areas,
                             password_hash = COALESCE(EXCLUDED.password_hash, cases.users.password_hash),
                             phone_enc = EXCLUDED.phone_enc, phone_hash = EXCLUDED.phone_hash,
                             active = EXCLUDED.active, updated_at = EXCLUDED.updated_at
                           RETURNING (xmax = 0) AS inserted"""
                    ),
                    row,
                )
            ).first()
        )
    return _count(out)


async def upsert_clients(session: AsyncSession, rows: list[dict[str, Any]]) -> tuple[int, int]:
    out = []
    for row in rows:
        out.append(
            (
                await session.execute(
                    text(
                        """INSERT INTO cases.clients (client_id, secret_hash, department_code, active, updated_at)
                           VALUES (:client_id, :secret_hash, :department_code, :active, :now)
                           ON CONFLICT (client_id) DO UPDATE SET secret_hash = EXCLUDED.secret_hash,
                             department_code = EXCLUDED.department_code, active = EXCLUDED.active,
                             updated_at = EXCLUDED.updated_at
                           RETURNING (xmax = 0) AS inserted"""
                    ),
                    row,
                )
            ).first()
        )
    return _count(out)


async def known_codes(session: AsyncSession, table: str, codes: list[str]) -> set[str]:
    if not codes:
        return set()
    col = "code"
    result = await session.execute(text(f"SELECT {col} FROM cases.{table} WHERE {col} = ANY(:c)"), {"c": codes})
    return {r[0] for r in result}


async def area_paths(session: AsyncSession, codes: list[str]) -> dict[str, list[str]]:
    if not codes:
        return {}
    result = await session.execute(text("SELECT code, path FROM cases.areas WHERE code = ANY(:c)"), {"c": codes})
    return {r.code: list(r.path) for r in result}


# An area is in the directory while neither it nor any area above it is retired.
_LIVE_AREA = "NOT EXISTS (SELECT 1 FROM cases.areas r WHERE r.code = ANY(a.path) AND NOT r.active)"


async def live_area_path(session: AsyncSession, code: str) -> list[str] | None:
    """The area's path, if the area is in the directory and neither it nor an area above it is retired."""
    row = (
        await session.execute(text(f"SELECT path FROM cases.areas a WHERE a.code = :c AND {_LIVE_AREA}"), {"c": code})
    ).first()
    return list(row.path) if row is not None else None


async def all_areas(session: AsyncSession) -> list[dict[str, Any]]:
    result = await session.execute(
        text(f"SELECT code, name, level, parent_code, path FROM cases.areas a WHERE {_LIVE_AREA} ORDER BY code")
    )
    return [dict(r._mapping) | {"path": list(r.path)} for r in result]


async def all_departments(session: AsyncSession) -> list[dict[str, Any]]:
    result = await session.execute(
        text("SELECT code, name, kind, area_code FROM cases.departments WHERE active ORDER BY code")
    )
    return [dict(r._mapping) for r in result]


async def lock_directory(session: AsyncSession) -> None:
    """Serialise directory publications so their events commit in order (one aggregate)."""
    await session.execute(text("SELECT pg_advisory_xact_lock(hashtext('cases.directory'))"))


async def departments_full(session: AsyncSession) -> list[dict[str, Any]]:
    result = await session.execute(
        text("SELECT code, name, kind, area_code, webhook FROM cases.departments WHERE active ORDER BY code")
    )
    out = []
    for r in result:
        hook = dict(r.webhook or {})
        out.append(
            {
                "code": r.code,
                "name": r.name,
                "kind": r.kind,
                "area_code": r.area_code,
                "head": hook.pop("head", None),
                "webhook": hook if hook.get("url") else None,
            }
        )
    return out


async def all_users(session: AsyncSession) -> list[dict[str, Any]]:
    result = await session.execute(
        text(
            "SELECT id, username, name, role, department_code, areas, phone_enc FROM cases.users WHERE active ORDER "
            "BY username"
        )
    )
    return [
        {
            "user_id": str(r.id),
            "username": r.username,
            "name": r.name,
            "role": r.role,
            "department_code": r.department_code,
            "areas": list(r.areas or []),
            "phone_enc": r.phone_enc,
        }
        for r in result
    ]


async def area_name(session: AsyncSession, code: str) -> str | None:
    return (await session.execute(text("SELECT name FROM cases.areas WHERE code = :c"), {"c": code})).scalar()


async def levels_and_names(session: AsyncSession, codes: list[str]) -> dict[str, tuple[str, str]]:
    """code → (level, name) of these areas."""
    result = await session.execute(text("SELECT code, level, name FROM cases.areas WHERE code = ANY(:c)"), {"c": codes})
    return {r.code: (r.level, r.name) for r in result}


async def area_levels(session: AsyncSession, path: list[str]) -> dict[str, str]:
    """level → code along a path (county, township, village, grid)."""
    result = await session.execute(text("SELECT code, level FROM cases.areas WHERE code = ANY(:p)"), {"p": path})
    return {r.level: r.code for r in result}


async def centres_on_path(session: AsyncSession, path: list[str]) -> list[Any]:
    """The areas of a path (code, name, level) with whether an active dispatcher works there (a centre
    with dispatchers), in no particular order."""
    result = await session.execute(
        text(
            """SELECT a.code, a.name, a.level,
                      EXISTS (SELECT 1 FROM cases.users u
                              WHERE u.role = 'dispatcher' AND u.active AND u.areas @> ARRAY[a.code]) AS staffed
               FROM cases.areas a WHERE a.code = ANY(:p)"""
        ),
        {"p": path},
    )
    return list(result)


async def area_names(session: AsyncSession, codes: list[str]) -> dict[str, str]:
    result = await session.execute(text("SELECT code, name FROM cases.areas WHERE code = ANY(:c)"), {"c": codes})
    return {r.code: r.name for r in result}
