"""Who a rule's audience is for one event, from notify's copy of the directory (active users only).

Audiences (rules.yaml explains them): department, department_head, unit, unit_head, responsible,
responsible_person, centre, county_centre, notice_centre, notice_leader, area_leader, county_leader, reporter,
worker, applicant. Events from cases carry
`responsible_person` (a username or null) and `reporters` (the usernames of every reporting grid
worker); older events carry only `reporter_id` (a user id), which is used when `reporters` is absent.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.notify.directory import service as directory


@dataclass(frozen=True)
class Recipient:
    key: str  # department:<code> | user:<username> | worker:<user id> | applicant:<phone hash>
    kind: str  # department | user | worker | applicant
    target: str | None  # department code, username or worker id
    phone_enc: str | None = None


def _users(rows: list[Any]) -> list[Recipient]:
    return [Recipient(f"user:{u.username}", "user", u.username, u.phone_enc) for u in rows]


def _workers(ids: list[str]) -> list[Recipient]:
    return [Recipient(f"worker:{w}", "worker", w) for w in dict.fromkeys(ids)]


async def _department(session: AsyncSession, code: str | None) -> list[Recipient]:
    """The department's system and its staff. A retired (撤销) department has no staff to tell: only its
    system stays a recipient, so that the webhook is recorded as skipped with the reason (部门已撤销)."""
    if not code:
        return []
    out = [Recipient(f"department:{code}", "department", code)]
    dept = await directory.department(session, code)
    if dept is not None and not dept.active:
        return out
    return out + _users(await directory.staff_of(session, code))


async def _staffed_from(session: AsyncSession, code: str, path: list[str]) -> list[Recipient]:
    """The dispatchers of the centre `code`; none there: of the nearest centre above it on `path`."""
    above = list(reversed(path[: path.index(code)])) if code in path else []
    for at in (code, *above):
        rows = await directory.dispatchers_of(session, at)
        if rows:
            return _users(rows)
    return []


async def _centre(session: AsyncSession, data: dict[str, Any]) -> list[Recipient]:
    """The dispatchers of the case's handling centre(s) (`handling`: both when handled jointly); an event
    without them (older events, the digest): of the nearest centre above the case's area."""
    path = list(data.get("area_path") or [])
    handling = data.get("handling")
    if isinstance(handling, list) and handling:
        out: list[Recipient] = []
        for code in handling:
            out += [r for r in await _staffed_from(session, str(code), path) if r not in out]
        return out
    for code in reversed(path):
        rows = await directory.dispatchers_of(session, code)
        if rows:
            return _users(rows)
    return []


async def _county_centre(session: AsyncSession, data: dict[str, Any]) -> list[Recipient]:
    """The dispatchers of the county's centre (a major case: informed at once, not only its leaders)."""
    path = list(data.get("area_path") or [])
    return _users(await directory.dispatchers_of(session, path[0])) if path else []


async def _unit_head(session: AsyncSession, data: dict[str, Any]) -> list[Recipient]:
    """The head of the unit a notice names: a department's head, or the leaders of the centre's area."""
    unit = data.get("unit")
    dept = await directory.live_department(session, unit)
    if dept is not None:
        return _users(await directory.by_username(session, dept.head)) if dept.head else []
    if not unit:
        return []
    return _users(await directory.by_role_in_path(session, "leader", [], only=[str(unit)]))


async def _notice_leader(session: AsyncSession, data: dict[str, Any]) -> list[Recipient]:
    """The leaders over the centre that issued a notice (`notice_area`): its own and those above it."""
    path = list(data.get("area_path") or [])
    area = data.get("notice_area")
    upto = path[: path.index(area) + 1] if area in path else path[:1]
    return _users(await directory.by_role_in_path(session, "leader", upto))


async def _notice_centre(session: AsyncSession, data: dict[str, Any]) -> list[Recipient]:
    """The dispatchers of the centre that issued a notice (`notice_area`): only it may close the notice.
    A village case's notice is the township's: the village centre nearer the case is not the one to tell.
    No dispatcher there: the nearest centre above it on the case's path; an older event without
    `notice_area`: the case's centre."""
    area = data.get("notice_area")
    if not area:
        return await _centre(session, data)
    path = list(data.get("area_path") or [])
    above = list(reversed(path[: path.index(area)])) if area in path else []
    for code in (area, *above):
        rows = await directory.dispatchers_of(session, code)
        if rows:
            return _users(rows)
    return []


async def _unit(session: AsyncSession, unit: str | None, data: dict[str, Any]) -> list[Recipient]:
    """A unit is a department (its system and staff) or an area (its centre's dispatchers); a retired
    department's business goes to the centre."""
    if unit and await directory.live_department(session, unit):
        return await _department(session, unit)
    if unit:
        rows = await directory.dispatchers_of(session, unit)
        if rows:
            return _users(rows)
    return await _centre(session, data)


async def _head(session: AsyncSession, data: dict[str, Any]) -> list[Recipient]:
    """The head of the event's department, else of the department a notice names as its unit (a
    retired department has no head to tell)."""
    for code in (data.get("department"), data.get("unit")):
        dept = await directory.live_department(session, code)
        if dept is not None:
            return _users(await directory.by_username(session, dept.head)) if dept.head else []
    return []


async def _responsible_person(session: AsyncSession, data: dict[str, Any]) -> list[Recipient]:
    """The case's responsible person (in-app and SMS); when the case has none, the responsible unit
    (without SMS to all of its staff)."""
    username = data.get("responsible_person")
    if username:
        return _users(await directory.by_username(session, str(username)))
    return [replace(r, phone_enc=None) for r in await _unit(session, data.get("responsible_unit"), data)]


async def _reporters(session: AsyncSession, data: dict[str, Any]) -> list[Recipient]:
    """Every grid worker who reported the case (`reporters`, usernames), else `reporter_id`; someone
    the directory has removed or deactivated hears nothing."""
    usernames = data.get("reporters")
    if isinstance(usernames, list) and usernames:
        return _workers([u.user_id for u in await directory.by_usernames(session, [str(u) for u in usernames])])
    worker = data.get("reporter_id") or data.get("worker_id")
    return await _worker(session, worker)


async def _worker(session: AsyncSession, worker: Any) -> list[Recipient]:
    if not worker:
        return []
    return [] if await directory.inactive_ids(session, [str(worker)]) else _workers([str(worker)])


def _applicant(data: dict[str, Any]) -> list[Recipient]:
    """The person who raised a case at the centre's desk (a reply carries `applicant`: the encrypted phone
    and its keyed hash); reached by SMS only."""
    applicant = data.get("applicant")
    if not isinstance(applicant, dict) or not applicant.get("phone_enc"):
        return []
    key = applicant.get("phone_hash") or data.get("case_id")
    return [Recipient(f"applicant:{key}", "applicant", None, str(applicant["phone_enc"]))]


async def recipients(session: AsyncSession, audience: str, data: dict[str, Any]) -> list[Recipient]:
    path = list(data.get("area_path") or [])
    if audience == "department":
        return await _department(session, data.get("department"))
    if audience == "department_head":
        return await _head(session, data)
    if audience == "unit":
        return await _unit(session, data.get("unit"), data)
    if audience == "responsible":
        return await _unit(session, data.get("responsible_unit"), data)
    if audience == "responsible_person":
        return await _responsible_person(session, data)
    if audience == "centre":
        return await _centre(session, data)
    if audience == "county_centre":
        return await _county_centre(session, data)
    if audience == "unit_head":
        return await _unit_head(session, data)
    if audience == "notice_leader":
        return await _notice_leader(session, data)
    if audience == "notice_centre":
        return await _notice_centre(session, data)
    if audience == "area_leader":
        return _users(await directory.by_role_in_path(session, "leader", path))
    if audience == "county_leader":
        return _users(await directory.by_role_in_path(session, "leader", path, only=path[:1]))
    if audience == "reporter":
        return await _reporters(session, data)
    if audience == "worker":
        return await _worker(session, data.get("worker_id"))
    if audience == "applicant":
        return _applicant(data)
    return []
