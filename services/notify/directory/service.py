"""Notify's copy of the org directory (from cases' directory.changed): who is who and where. The
other domains ask here who a department, an area or a user is; only this domain writes the copy."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.notify.directory import repository as repo
from shared.clock import clock

RETIRED = "部门已撤销"  # why a retired department's webhooks are skipped (delivery.last_error)


async def apply_document(session: AsyncSession, payload: dict[str, Any]) -> None:
    """Replace the copy with the parts the org document holds (areas, departments, users)."""
    await repo.replace(session, payload, clock.now())


async def area(session: AsyncSession, code: str | None) -> Any:
    """The area (code, name, level, path from the county down), or None."""
    return await repo.area(session, code)


async def department(session: AsyncSession, code: str | None) -> Any:
    """The department, live or retired (`active` tells which), or None."""
    return await repo.department(session, code)


async def live_department(session: AsyncSession, code: str | None) -> Any:
    """The department while the directory lists it; None when unknown or retired (撤销)."""
    return await repo.live_department(session, code)


async def retired_codes(session: AsyncSession, codes: list[str]) -> set[str]:
    """Of these department codes, those the directory has retired."""
    return await repo.retired_codes(session, codes)


async def staff_of(session: AsyncSession, department_code: str) -> list[Any]:
    """The department's active staff."""
    return await repo.staff_of(session, department_code)


async def dispatchers_of(session: AsyncSession, area_code: str) -> list[Any]:
    """The active dispatchers of the area's centre."""
    return await repo.dispatchers_of(session, area_code)


async def by_username(session: AsyncSession, username: str) -> list[Any]:
    """The active user of that username (none or one)."""
    return await repo.by_username(session, username)


async def by_usernames(session: AsyncSession, usernames: list[str]) -> list[Any]:
    """The active users of these usernames."""
    return await repo.by_usernames(session, usernames)


async def inactive_ids(session: AsyncSession, user_ids: list[str]) -> set[str]:
    """Of these user ids, those the directory has removed or deactivated."""
    return await repo.inactive_ids(session, user_ids)


async def by_role_in_path(
    session: AsyncSession, role: str, path: list[str], only: list[str] | None = None
) -> list[Any]:
    """Active users of `role` whose areas hold a node of `path` (or of `only`)."""
    return await repo.by_role_in_path(session, role, path, only)
