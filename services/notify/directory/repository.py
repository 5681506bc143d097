"""Notify's directory copy and the recipient look-ups the rules need."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


async def version(session: AsyncSession) -> int:
    """The directory's version: raised by every document applied (what a process may keep answers for)."""
    return int((await session.execute(text("SELECT version FROM notify.directory_version"))).scalar_one())


async def replace(session: AsyncSession, payload: dict[str, Any], now: datetime) -> None:
    await session.execute(
        text("UPDATE notify.directory_version SET version = version + 1, changed_at = :now"), {"now": now}
    )
    areas = payload.get("areas") or []
    if areas:
        await session.execute(
            text(
                """INSERT INTO notify.areas (code, name, level, path, updated_at)
                   VALUES (:code, :name, :level, :path, :now)
                   ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, level = EXCLUDED.level, path = EXCLUDED.path,
                     updated_at = :now"""
            ),
            [{"code": a["code"], "name": a["name"], "level": a["level"], "path": a["path"], "now": now} for a in areas],
        )
    if "departments" in payload:
        await _replace_departments(session, payload.get("departments") or [], now)
    if "users" not in payload:
        return  # a document without the users part says nothing about them
    users = payload.get("users") or []
    ids = [str(u["user_id"]) for u in users]
    # The users part is the whole directory of active users: whoever is missing was removed or
    # deactivated and hears nothing more (kept, inactive, so that a message to them is told apart
    # from one to somebody never known).
    await session.execute(
        text(
            "UPDATE notify.users SET active = false, updated_at = :now"
            " WHERE active AND NOT (user_id = ANY(CAST(:ids AS text[])))"
        ),
        {"ids": ids, "now": now},
    )
    if users:
        # a username now held by another account: the old row is stale
        await session.execute(
            text(
                """DELETE FROM notify.users
                   WHERE username = ANY(CAST(:names AS text[])) AND NOT (user_id = ANY(CAST(:ids AS text[])))"""
            ),
            {"names": [u["username"] for u in users], "ids": ids},
        )
        await session.execute(
            text(
                """INSERT INTO notify.users
                     (user_id, username, name, role, department_code, areas, phone_enc, active, updated_at)
                   VALUES (:user_id, :username, :name, :role, :department_code, :areas, :phone_enc, true, :now)
                   ON CONFLICT (user_id) DO UPDATE SET username = EXCLUDED.username, name = EXCLUDED.name,
                     role = EXCLUDED.role,
                     department_code = EXCLUDED.department_code, areas = EXCLUDED.areas, phone_enc = EXCLUDED.phone_enc,
                     active = true, updated_at = :now"""
            ),
            [
                {
                    **{k: u.get(k) for k in ("user_id", "username", "name", "role", "department_code", "phone_enc")},
                    "areas": u.get("areas") or [],
                    "now": now,
                }
                for u in users
            ],
        )


async def _replace_departments(session: AsyncSession, depts: list[dict[str, Any]], now: datetime) -> None:
    """The departments part is the whole directory of live departments: one it lacks, or marks
    `active: false`, was retired (撤销) and is kept inactive, so that its webhooks are skipped with the
    reason and the rules reach it no more; one that comes back is live again."""
    if depts:
        await session.execute(
            text(
                """INSERT INTO notify.departments (code, name, area_code, head, active, updated_at)
                   VALUES (:code, :name, :area_code, :head, :active, :now)
                   ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, area_code = EXCLUDED.area_code,
                     head = EXCLUDED.head,
                     active = EXCLUDED.active, updated_at = :now"""
            ),
            [
                {
                    "code": d["code"],
                    "name": d["name"],
                    "area_code": d.get("area_code"),
                    "head": d.get("head"),
                    "active": d.get("active") is not False,
                    "now": now,
                }
                for d in depts
            ],
        )
    await session.execute(
        text(
            "UPDATE notify.departments SET active = false, updated_at = :now"
            " WHERE active AND NOT (code = ANY(CAST(:codes AS text[])))"
        ),
        {"codes": [d["code"] for d in depts], "now": now},
    )


async def area(session: AsyncSession, code: str | None) -> Any:
    if not code:
        return None
    return (
        await session.execute(text("SELECT code, name, level, path FROM notify.areas WHERE code = :c"), {"c": code})
    ).first()


async def department(session: AsyncSession, code: str | None) -> Any:
    """The department, live or retired (`active` tells which): its name still titles old cases' messages."""
    if not code:
        return None
    return (
        await session.execute(
            text("SELECT code, name, area_code, head, active FROM notify.departments WHERE code = :c"), {"c": code}
        )
    ).first()


async def live_department(session: AsyncSession, code: str | None) -> Any:
    """The department while the directory lists it; None when unknown or retired (撤销)."""
    dept = await department(session, code)
    return dept if dept is not None and dept.active else None


async def retired_codes(session: AsyncSession, codes: list[str]) -> set[str]:
    """Of these department codes, those the directory has retired."""
    if not codes:
        return set()
    result = await session.execute(
        text("SELECT code FROM notify.departments WHERE NOT active AND code = ANY(CAST(:c AS text[]))"),
        {"c": list(codes)},
    )
    return {r.code for r in result}


async def users_where(session: AsyncSession, sql: str, params: dict[str, Any]) -> list[Any]:
    """Active users only: someone the directory no longer lists is told nothing."""
    result = await session.execute(
        text(
            "SELECT user_id, username, name, role, department_code, areas, phone_enc FROM notify.users"
            f" WHERE active AND ({sql})"
        ),
        params,
    )
    return list(result)


async def staff_of(session: AsyncSession, department_code: str) -> list[Any]:
    return await users_where(session, "department_code = :d AND role = 'department_staff'", {"d": department_code})


async def by_username(session: AsyncSession, username: str) -> list[Any]:
    return await users_where(session, "username = :u", {"u": username})


async def by_usernames(session: AsyncSession, usernames: list[str]) -> list[Any]:
    return await users_where(session, "username = ANY(CAST(:u AS text[]))", {"u": list(usernames)})


async def inactive_ids(session: AsyncSession, user_ids: list[str]) -> set[str]:
    """Of these user ids, those the directory has removed or deactivated."""
    result = await session.execute(
        text("SELECT user_id FROM notify.users WHERE NOT active AND user_id = ANY(CAST(:ids AS text[]))"),
        {"ids": list(user_ids)},
    )
    return {r.user_id for r in result}


async def by_role_in_path(
    session: AsyncSession, role: str, path: list[str], only: list[str] | None = None
) -> list[Any]:
    """Users of `role` whose areas hold a node of `path` (e.g. the leaders above a grid)."""
    codes = only if only is not None else path
    return await users_where(session, "role = :r AND areas && CAST(:p AS text[])", {"r": role, "p": codes})


async def dispatchers_of(session: AsyncSession, area_code: str) -> list[Any]:
    return await users_where(session, "role = 'dispatcher' AND areas @> ARRAY[CAST(:a AS text)]", {"a": area_code})
