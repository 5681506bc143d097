"""Notify's copy of the org directory (from cases' directory.changed): who is who and where. The
other domains ask here who a department, an area or a user is; only this domain writes the copy."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.notify.directory import repository as repo
from shared.clock import clock

RETIRED = "部门已撤销"  # why a retired department's webhooks are skipped (delivery.last_error)

_memo: ContextVar[dict[tuple[Any, ...], Any] | None] = ContextVar("notify_directory_memo", default=None)
# The answers of this process, for one version of the directory (directory_version, raised by every document
# applied): a batch reads the version once and keeps the answers of earlier batches while it is the same.
_answers: dict[tuple[Any, ...], Any] = {}
_answers_version: tuple[str, int] | None = None  # (the database, its directory version)
CHANGED = "notify_directory_changed"  # session.info key: this transaction applied a directory document


@asynccontextmanager
async def remembered(session: AsyncSession) -> AsyncIterator[None]:
    """Within it, each question to the directory is read from the database once: a batch of events asks the
    same ones again and again, and so do the batches after it. The answers are kept in this process for the
    directory's version (read once here); a document applied anywhere raises the version, and the answers
    go. A transaction that applied a document itself keeps its answers to itself (it may yet roll back)."""
    global _answers, _answers_version
    memo: dict[tuple[Any, ...], Any]
    if session.info.get(CHANGED):
        memo = {}
    else:
        version = (str(session.get_bind().engine.url), await repo.version(session))
        if version != _answers_version:
            _answers, _answers_version = {}, version
        memo = _answers
    token = _memo.set(memo)
    try:
        yield
    finally:
        _memo.reset(token)


async def _once(key: tuple[Any, ...], fetch: Callable[[], Awaitable[Any]]) -> Any:
    memo = _memo.get()
    if memo is None:
        return await fetch()
    if key not in memo:
        memo[key] = await fetch()
    return memo[key]


async def apply_document(session: AsyncSession, payload: dict[str, Any]) -> None:
    """Replace the copy with the parts the org document holds (areas, departments, users)."""
    session.info[CHANGED] = True
    await repo.replace(session, payload, clock.now())


async def area(session: AsyncSession, code: str | None) -> Any:
    """The area (code, name, level, path from the county down), or None."""
    return await _once(("area", code), lambda: repo.area(session, code))


async def department(session: AsyncSession, code: str | None) -> Any:
    """The department, live or retired (`active` tells which), or None."""
    return await _once(("department", code), lambda: repo.department(session, code))


async def live_department(session: AsyncSession, code: str | None) -> Any:
    """The department while the directory lists it; None when unknown or retired (撤销)."""
    return await _once(("live_department", code), lambda: repo.live_department(session, code))


async def retired_codes(session: AsyncSession, codes: list[str]) -> set[str]:
    """Of these department codes, those the directory has retired."""
    return set(await _once(("retired", *codes), lambda: repo.retired_codes(session, codes)))


async def staff_of(session: AsyncSession, department_code: str) -> list[Any]:
    """The department's active staff."""
    return list(await _once(("staff", department_code), lambda: repo.staff_of(session, department_code)))


async def dispatchers_of(session: AsyncSession, area_code: str) -> list[Any]:
    """The active dispatchers of the area's centre."""
    return list(await _once(("dispatchers", area_code), lambda: repo.dispatchers_of(session, area_code)))


async def by_username(session: AsyncSession, username: str) -> list[Any]:
    """The active user of that username (none or one)."""
    return list(await _once(("user", username), lambda: repo.by_username(session, username)))


async def by_usernames(session: AsyncSession, usernames: list[str]) -> list[Any]:
    """The active users of these usernames."""
    return list(await _once(("users", *usernames), lambda: repo.by_usernames(session, usernames)))


async def inactive_ids(session: AsyncSession, user_ids: list[str]) -> set[str]:
    """Of these user ids, those the directory has removed or deactivated."""
    return set(await _once(("inactive", *user_ids), lambda: repo.inactive_ids(session, user_ids)))


async def by_role_in_path(
    session: AsyncSession, role: str, path: list[str], only: list[str] | None = None
) -> list[Any]:
    """Active users of `role` whose areas hold a node of `path` (or of `only`)."""
    return list(
        await _once(
            ("role_in_path", role, tuple(path), tuple(only) if only is not None else None),
            lambda: repo.by_role_in_path(session, role, path, only),
        )
    )
