"""The directory copy (areas, departments, grid workers) that cases publishes, and what phones get
of it: the reference data they keep offline, and where a worker may file a report."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.directory import repository
from shared.contracts.events import RISK_FLAGS, DirectoryChanged


async def references_for(session: AsyncSession, scopes: dict[str, tuple[str, ...]]) -> dict[str, dict[str, Any]]:
    """Reference data of many workers at once (keyed like `scopes`), in three statements."""
    found = await repository.scoped_areas_and_departments(session, scopes)
    categories = await repository.live_categories(session)
    return {
        key: {
            "areas": found[key][0],
            "departments": found[key][1],
            "categories": categories,
            "flags": list(RISK_FLAGS),
            "grids": list(scope),
        }
        for key, scope in scopes.items()
    }


async def reference_for(session: AsyncSession, scope: tuple[str, ...]) -> dict[str, Any]:
    """Reference data a phone keeps offline: the worker's grids and their ancestors and children,
    the departments of those areas, the dispute categories (code and zh-CN name) and risk flags."""
    return (await references_for(session, {"": tuple(scope)}))[""]


async def dispute_categories(session: AsyncSession) -> set[str]:
    """The codes a dispute report may carry now."""
    return {c["code"] for c in await repository.live_categories(session)}


async def bound_areas(session: AsyncSession, token_areas: list[str], grids: list[str]) -> set[str]:
    """Of the token's areas and `grids`, those where the worker may file a report (see the repository)."""
    return await repository.bound_areas(session, token_areas, grids)


async def apply_change(session: AsyncSession, change: DirectoryChanged, now: datetime) -> dict[str, dict[str, Any]]:
    """The org changed in cases: intake's copy becomes the snapshot (retired areas stop binding grids).
    Returns the new reference data of each grid worker whose reference data changed."""
    known = await repository.worker_scopes(session)
    scopes = known if change.workers is None else {w.worker_id: tuple(w.areas) for w in change.workers}
    # before: each worker's reference as the phone last had it (old copy, old areas)
    before = await references_for(session, {w: known.get(w, scope) for w, scope in scopes.items()})
    await repository.replace(
        session, [a.model_dump() for a in change.areas], [d.model_dump() for d in change.departments], now
    )
    if change.workers is not None:
        await repository.replace_workers(session, scopes, now)
    if change.categories is not None:
        await repository.replace_categories(session, [c.model_dump() for c in change.categories], now)
    after = await references_for(session, scopes)
    return {w: ref for w, ref in after.items() if ref != before.get(w)}
