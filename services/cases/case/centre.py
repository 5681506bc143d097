"""The handling centre (承办中心, DOMAIN.md "Who handles a case"): the centre at the case's tier on its area
path — where that level has no centre with dispatchers, the next one up — and, for a jointly handled
level (信访积案: county and township), the centre of the second tier too. Centres above a handling
centre supervise and may also decide; centres below it read the case and report progress only."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.cases.org import service as org_service
from shared.auth import Principal

RANK = {"county": 0, "township": 1, "village": 2}  # centre levels, highest first
TIER_UP = {"village": "township", "township": "county", "county": "county"}


@dataclass(frozen=True)
class Centre:
    code: str
    name: str
    level: str
    staffed: bool


async def centres_of(session: AsyncSession, path: Sequence[str]) -> list[Centre]:
    """The centre levels (county, township, village) of a case's path, from the county down."""
    return _on_path({r.code: r for r in await org_service.centres_on_path(session, list(path))}, path)


def _on_path(rows: dict[str, Any], path: Sequence[str]) -> list[Centre]:
    return [
        Centre(code, rows[code].name, rows[code].level, bool(rows[code].staffed))
        for code in path
        if code in rows and rows[code].level in RANK
    ]


def _pick(centres: list[Centre], tier: str) -> str | None:
    """The centre at `tier`, else the nearest staffed one above it; nobody staffed: the tier's own area."""
    reach = [c for c in centres if RANK[c.level] <= RANK.get(tier, 1)]
    for c in reversed(reach):
        if c.staffed:
            return c.code
    return reach[-1].code if reach else None


def handling_of(centres: list[Centre], tier: str | None, joint_with: str | None = None) -> list[str]:
    """The handling centres' area codes: the tier's first, then the joint tier's (two when joint)."""
    out: list[str] = []
    for t in (tier or "township", joint_with):
        code = _pick(centres, t) if t else None
        if code and code not in out:
            out.append(code)
    return out


async def handling_for(
    session: AsyncSession, path: Sequence[str], tier: str | None, joint_with: str | None = None
) -> list[str]:
    return handling_of(await centres_of(session, path), tier, joint_with)


async def handling_for_many(
    session: AsyncSession, cases: Sequence[tuple[Sequence[str], str | None, str | None]]
) -> list[list[str]]:
    """`handling_for` of many cases (area path, tier, joint tier) with one read of the centres."""
    codes = sorted({code for path, _, _ in cases for code in path})
    rows = {r.code: r for r in await org_service.centres_on_path(session, codes)}
    return [handling_of(_on_path(rows, path), tier, joint) for path, tier, joint in cases]


def escalated(centres: list[Centre], tier: str | None) -> tuple[str, list[str]]:
    """提级: one tier up (村→镇→县) and the handling centre of that tier (a village without its own centre
    was already the township's: it stays there, and the next escalation goes to the county)."""
    new_tier = TIER_UP.get(tier or "village", "county")
    return new_tier, handling_of(centres, new_tier)


def acting_centre(principal: Principal, path: Sequence[str]) -> str | None:
    """The caller's centre on the case's path (the highest of their areas there), or None."""
    mine = [a for a in path if a in set(principal.areas)]
    return mine[0] if mine else None


def may_decide(principal: Principal, path: Sequence[str], handling: Sequence[str]) -> bool:
    """Decisions are the handling centres' and those above them; an admin's too; a case without a
    handling centre yet (none recorded) is anyone's in scope."""
    if principal.role == "admin" or not handling:
        return True
    on_path = [path.index(h) for h in handling if h in path]
    if not on_path:
        return True
    mine = acting_centre(principal, path)
    return mine is not None and path.index(mine) <= max(on_path)


def is_above(principal: Principal, path: Sequence[str], handling: Sequence[str]) -> bool:
    """The caller's centre is strictly above a handling centre (a supervising, higher centre)."""
    if principal.role == "admin":
        return True
    mine = acting_centre(principal, path)
    on_path = [path.index(h) for h in handling if h in path]
    return mine is not None and bool(on_path) and path.index(mine) < max(on_path)


def names(centres: Any, codes: Sequence[str]) -> str:
    by_code = {c.code: c.name for c in centres}
    return "、".join(f"{by_code.get(c, c)}综治中心" for c in codes)
