"""Evaluation figures (问效 / 考核) for ops dashboards: overview, on-time and case rates per department
or area, mediator subsidies, the 30-day trend. Each answer reads rollup rows (kept by triggers in the
transaction of every change), never the case table; its ETag comes from the rollups' versions, so an
unchanged poll is a 304 after one index lookup and no aggregation."""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from services.cases.case import service as case_service
from services.cases.mediator import service as mediator_register
from services.cases.stats import repository as repo
from services.cases.stats.exceptions import BadPeriod, StatsScopeNotFound
from services.cases.stats.policy import LEVELS, SubsidyPolicy
from services.cases.stats.schemas import (
    ON_TIME_KINDS,
    CaseCounts,
    MediatorSubsidy,
    Overview,
    Patrols,
    Rate,
    SlaGroup,
    SlaOut,
    SubsidiesOut,
    TrendDay,
    TrendOut,
)
from shared.auth import Principal
from shared.clock import CHINA_TZ, clock

T = TypeVar("T")
MAX_PERIOD_DAYS = 366
FEN = Decimal("0.01")
LEVEL_ZH = {"ordinary": "普通", "complex": "复杂", "major": "重大", "petition_backlog": "信访积案"}


@dataclass
class Polled(Generic[T]):
    """An answer to a poll: its ETag, and the body unless the caller already holds that version."""

    etag: str
    body: T | None


def _tag(*parts: Any) -> str:
    return 'W/"' + hashlib.sha256(repr(parts).encode()).hexdigest()[:32] + '"'


def _fresh(tag: str, if_none_match: str | None) -> bool:
    """Whether the caller's If-None-Match already names this version (weak comparison)."""
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    bare = tag.removeprefix("W/")
    return any(t.strip().removeprefix("W/") == bare for t in if_none_match.split(","))


def china_today(now: datetime) -> date:
    return now.astimezone(CHINA_TZ).date()


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=CHINA_TZ)


def minute_of(now: datetime) -> datetime:
    return now.replace(second=0, microsecond=0)


# --- scope ---------------------------------------------------------------------------------------------


async def scoped_areas(session: AsyncSession, principal: Principal, area: str | None) -> list[str]:
    """The areas a figure covers: `area` if the caller may see it, else the caller's own areas (an admin:
    the roots), without any that lies under another. Department callers have no area figures."""
    scope = case_service.scope_of(principal)
    if scope.get("department"):
        raise StatsScopeNotFound()
    if area:
        rows = await repo.area_rows(session, [area])
        if not rows or not (scope["all"] or set(rows[0].path) & set(scope["areas"])):
            raise StatsScopeNotFound(f"区域 {area} 不存在")
        return [area]
    codes = await repo.root_areas(session) if scope["all"] else list(scope["areas"])
    rows = await repo.area_rows(session, codes)
    known = {r.code for r in rows}
    return sorted(r.code for r in rows if not set(r.path[:-1]) & known)


@dataclass
class Groups:
    gtype: str  # a | d
    names: dict[str, str]  # code → name, in display order


async def sla_groups(session: AsyncSession, principal: Principal, group_by: str, area: str | None) -> Groups:
    scope = case_service.scope_of(principal)
    if group_by == "department":
        if scope.get("department"):  # department staff and systems: their own row only
            if area:
                raise StatsScopeNotFound(f"区域 {area} 不存在")
            rows = await repo.departments_in(session, None, code=scope["department"])
        else:
            areas = await scoped_areas(session, principal, area)
            rows = await repo.departments_in(session, None if scope["all"] and not area else areas)
        return Groups("d", {r.code: r.name for r in rows})
    areas = await scoped_areas(session, principal, area)
    return Groups("a", {r.code: r.name for r in await repo.child_areas(session, areas)})


def parse_period(raw_from: str | None, raw_to: str | None, now: datetime) -> tuple[date, date]:
    """`from`/`to` as dates or RFC 3339 times, taken as their date in China time; default this month."""
    today = china_today(now)
    start = _parse_day(raw_from, "from") if raw_from else today.replace(day=1)
    if raw_to:
        end = _parse_day(raw_to, "to")
    else:
        nxt = (start.replace(day=28) + timedelta(days=4)).replace(day=1)
        end = nxt - timedelta(days=1)
    if start > end:
        raise BadPeriod(("query", "from"), "开始日期不能晚于结束日期", msg="from is after to")
    if (end - start).days >= MAX_PERIOD_DAYS:
        raise BadPeriod(("query", "to"), f"统计时段不能超过 {MAX_PERIOD_DAYS} 天", msg="period too long")
    return start, end


def whole_months(start: date, end: date, before: date | None) -> tuple[date, date]:
    """[first, after): the calendar months lying wholly in [start, end] (and ending before `before`), as the
    first day of the first one and of the month after the last; an empty span (start, start) if none."""
    first = start if start.day == 1 else (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    after = (end + timedelta(days=1)).replace(day=1)
    if before is not None:
        after = min(after, before)
    return (first, after) if first < after else (start, start)


def _parse_day(raw: str, name: str) -> date:
    try:
        if len(raw) == 10:
            return date.fromisoformat(raw)
        at = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError as exc:
        raise BadPeriod(("query", name), f"{name} 须为日期（YYYY-MM-DD）或带时区的时间", msg="not a date") from exc
    if at.tzinfo is None:
        raise BadPeriod(("query", name), f"{name} 的时间须带时区", msg="time without offset")
    return at.astimezone(CHINA_TZ).date()


# --- overview ------------------------------------------------------------------------------------------


async def overview(
    session: AsyncSession, principal: Principal, area: str | None, if_none_match: str | None
) -> Polled[Overview]:
    now = clock.now()
    areas = await scoped_areas(session, principal, area)
    version = await repo.max_version(session, [f"a:{a}" for a in areas])
    tag = _tag("overview", areas, version, minute_of(now), china_today(now))
    if _fresh(tag, if_none_match):
        return Polled(tag, None)
    by: dict[str, dict[str, int]] = {}
    for r in await repo.counts(session, areas):
        by.setdefault(r.dim, {})[r.value] = by.get(r.dim, {}).get(r.value, 0) + int(r.n)
    overdue_pending, soon = await repo.pending_around(session, areas, minute_of(now))
    patrols, two = await repo.patrols_on(session, areas, china_today(now))
    body = Overview(
        area=",".join(areas),
        as_of=now,
        cases=CaseCounts(
            total=by.get("total", {}).get("", 0),
            open=by.get("open", {}).get("", 0),
            by_state=by.get("state", {}),
            by_level=by.get("level", {}),
            by_tier=by.get("tier", {}),
            by_kind=by.get("kind", {}),
            by_category=by.get("category", {}),
            by_channel=by.get("channel", {}),
        ),
        overdue_now=by.get("overdue", {}).get("", 0) + overdue_pending,
        due_24h=soon,
        patrols=Patrols(today=patrols, workers_with_two_today=two, workers=await repo.grid_workers(session, areas)),
    )
    return Polled(tag, body)


# --- sla -----------------------------------------------------------------------------------------------


async def sla(
    session: AsyncSession,
    principal: Principal,
    group_by: str,
    area: str | None,
    raw_from: str | None,
    raw_to: str | None,
    if_none_match: str | None,
) -> Polled[SlaOut]:
    now = clock.now()
    start, end = parse_period(raw_from, raw_to, now)
    groups = await sla_groups(session, principal, group_by, area)
    codes = list(groups.names)
    today = china_today(now)
    version = await repo.max_version(session, [f"{groups.gtype}:{c}" for c in codes])
    tag = _tag("sla", group_by, area, codes, start, end, version, minute_of(now) if start <= today <= end else None)
    if _fresh(tag, if_none_match):
        return Polled(tag, None)
    clocks: dict[tuple[str, str], list[int]] = {}
    # whole months of the period read from the month rollups; for clocks only months before today's (a pending
    # clock of a past day is past due, so a month holding today or later days is read by its days)
    sla_months = whole_months(start, end, before=today.replace(day=1))
    for r in await repo.sla_rows(session, groups.gtype, codes, start, end, sla_months, today):
        clocks[(r.gcode, r.kind)] = [int(r.on_time), int(r.late) + int(r.breached) + int(r.past_pending)]
    if start <= today <= end:  # today's pending clocks already past due count as breached
        for r in await repo.pending_between(session, groups.gtype, codes, day_start(today), minute_of(now)):
            clocks.setdefault((r.gcode, r.kind), [0, 0])[1] += int(r.n)
    rates = {
        r.gcode: r
        for r in await repo.case_day_rows(session, groups.gtype, codes, start, end, whole_months(start, end, None))
    }
    out = []
    for code, name in groups.names.items():
        c = rates.get(code)

        def n(field: str, c: Any = c) -> int:
            return int(getattr(c, field) or 0) if c is not None else 0

        on_time = {}
        for kind in ON_TIME_KINDS:
            met, other = clocks.get((code, kind), [0, 0])
            on_time[kind] = Rate.of(met, met + other)
        out.append(
            SlaGroup(
                key=code,
                name=name,
                cases=n("received"),
                on_time=on_time,
                resolution_rate=Rate.of(n("res_num"), n("res_den")),
                mediation_success_rate=Rate.of(n("med_num"), n("med_den")),
                satisfaction_rate=Rate.of(n("rev_num"), n("rev_den")),
                kept_at_tier_rate=Rate.of(n("kept"), n("closed")),
            )
        )
    return Polled(tag, SlaOut(group_by=group_by, area=area, from_=start, to=end, as_of=now, groups=out))


# --- trend ---------------------------------------------------------------------------------------------


async def trend(
    session: AsyncSession, principal: Principal, area: str | None, days: int, if_none_match: str | None
) -> Polled[TrendOut]:
    now = clock.now()
    areas = await scoped_areas(session, principal, area)
    today = china_today(now)
    start = today - timedelta(days=days - 1)
    version = await repo.max_version(session, [f"a:{a}" for a in areas])
    tag = _tag("trend", areas, days, today, version)
    if _fresh(tag, if_none_match):
        return Polled(tag, None)
    rows = {r.day: r for r in await repo.trend_rows(session, areas, start, today, today)}
    out = []
    for i in range(days):
        day = start + timedelta(days=i)
        r = rows.get(day)
        out.append(
            TrendDay(
                day=day,
                received=int(r.received) if r else 0,
                closed=int(r.closed) if r else 0,
                on_time=Rate.of(int(r.on_time), int(r.den)) if r else Rate.of(0, 0),
            )
        )
    return Polled(tag, TrendOut(area=",".join(areas), as_of=now, days=out))


# --- subsidies -----------------------------------------------------------------------------------------


def _yuan(value: Decimal) -> str:
    return str(value.quantize(FEN, rounding=ROUND_HALF_UP))


async def subsidies(
    session: AsyncSession,
    principal: Principal,
    month: str | None,
    area: str | None,
    policy: SubsidyPolicy,
    if_none_match: str | None,
) -> Polled[SubsidiesOut]:
    """Cases settled per mediator in the month (by the resolution's date, China time) by grade, times the
    amount per grade; a case several mediators settled is split evenly (each share rounded to the fen)."""
    now = clock.now()
    month = month or now.astimezone(CHINA_TZ).strftime("%Y-%m")
    areas = await scoped_areas(session, principal, area)
    scope = case_service.scope_of(principal)
    register = await mediator_register.in_area(session, None if scope["all"] and not area else areas)
    version = await repo.max_version(session, [f"m:{month}"])
    tag = _tag("subsidies", month, areas, [r.code for r in register], version, sorted(policy.amounts.items()))
    if _fresh(tag, if_none_match):
        return Polled(tag, None)
    counts: dict[str, dict[str, int]] = {}
    amounts: dict[str, Decimal] = {}
    for r in await repo.mediator_months(session, month, [m.code for m in register]):
        per = counts.setdefault(r.mediator_code, {})
        per[r.level] = per.get(r.level, 0) + int(r.n)
        share = (policy.amount(r.level) / int(r.shared_by)).quantize(FEN, rounding=ROUND_HALF_UP)
        amounts[r.mediator_code] = amounts.get(r.mediator_code, Decimal(0)) + share * int(r.n)
    rows = [
        MediatorSubsidy(
            code=m.code,
            name=m.name,
            area=m.area_code,
            cases={level: counts.get(m.code, {}).get(level, 0) for level in LEVELS},
            amount_cny=_yuan(amounts.get(m.code, Decimal(0))),
        )
        for m in register
        if m.active or m.code in counts
    ]
    total = sum((amounts.get(m.code, Decimal(0)) for m in rows), Decimal(0))
    body = SubsidiesOut(
        month=month,
        area=area,
        policy={level: _yuan(policy.amount(level)) for level in LEVELS},
        mediators=rows,
        total_cny=_yuan(total),
    )
    return Polled(tag, body)


def subsidies_csv(out: SubsidiesOut) -> str:
    """The same figures as a sheet for the finance office (UTF-8 with BOM, so Excel reads the Chinese)."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(
        ["月份", "调解员编码", "姓名", "所属区域", *(f"{LEVEL_ZH[lv]}（件）" for lv in LEVELS), "补贴金额（元）"]
    )
    for m in out.mediators:
        writer.writerow([out.month, m.code, m.name, m.area, *(m.cases[lv] for lv in LEVELS), m.amount_cny])
    writer.writerow([out.month, "合计", "", "", *("" for _ in LEVELS), out.total_cny])
    writer.writerow([])
    writer.writerow(["补贴标准（元/件）", *(f"{LEVEL_ZH[lv]} {out.policy[lv]}" for lv in LEVELS)])
    return "\ufeff" + buf.getvalue()
