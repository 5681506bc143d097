"""Clocks timed on an estimated calendar year are re-timed once that year's calendar is known: by the
operator's import of the year (in the same transaction), and by the startup/tick job, which several
replicas may run at once. Each re-timed clock leaves one entry on its case's timeline."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from services.cases.calendar import WorkCalendar
from services.cases.calendar import service as calendar_service
from services.cases.deadline.jobs import retime
from services.cases.main import _ticks
from services.cases.startup import start_domain
from shared.clock import clock
from tests.cases.factories import forget_calendar_year, holding_case, whistle
from tests.cases.factories import graded_case as make_graded
from tests.cases.helpers import case, cases_context, manual_clock, policy

CST = ZoneInfo("Asia/Shanghai")

WORKDAY_POLICY = """
calendar: workday
deadlines:
  contact:  {limit: 1h, start: received}
  acknowledge: {limit: 1h, start: whistled}
  resolve:  {limit: 3d, start: whistled}
warn_at: [0.5]
escalation: []
"""

# 2027 as an operator would import it (a made-up schedule: New Year's Day and Monday 4 January off).
YEAR_2027 = {
    "days": [
        {"day": "2027-01-01", "workday": False, "note": "元旦"},
        {"day": "2027-01-04", "workday": False, "note": "元旦补休"},
    ],
    "note": "国办发明电〔2026〕99号",
}


# a year the installed chinese-calendar does not know (tests/cases/conftest.py), whatever its version
pytestmark = pytest.mark.usefixtures("year_2027_is_an_estimate")


def resolve_of(c):
    return next(d for d in c["deadlines"] if d["kind"] == "resolve")


def local(iso: str) -> datetime:
    return datetime.fromisoformat(iso).astimezone(CST)


async def new_year_eve_case(system, tmp_path):
    """A case whistled on Thursday 31 December 2026 at 15:00: its 3-workday resolve clock reaches into 2027,
    whose calendar is estimated (1 January off, the weekend, then Monday 4 to Wednesday 6 January 15:00)."""
    start = datetime(2026, 12, 31, 15, 0, tzinfo=CST)
    with policy(system, WORKDAY_POLICY, tmp_path), manual_clock(start.astimezone(UTC)):
        case_id = await make_graded(system)
        await whistle(system, case_id, lead="PS-DL", reason="请派出所处理")
    resolve = resolve_of(await case(system, case_id))
    assert resolve["provisional"] is True and local(resolve["due_at"]) == datetime(2027, 1, 6, 15, tzinfo=CST)
    return case_id


def retimed_entries(c):
    return [t for t in c["timeline"] if t["action"] == "deadline_retimed"]


async def test_importing_the_year_retimes_its_estimated_clocks_with_a_timeline_entry(system, tmp_path):
    ctx = cases_context(system)
    before = ctx.domain.deadlines.calendar
    case_id = await new_year_eve_case(system, tmp_path)
    admin = await system.auth("admin")
    try:
        with manual_clock(datetime(2027, 1, 2, 9, tzinfo=CST).astimezone(UTC)):
            r = await system.http.put(f"{system.cases_url}/v1/admin/calendar/years/2027", json=YEAR_2027, headers=admin)
            assert r.status_code == 200, r.text
            assert r.json()["retimed"] >= 1
            c = await case(system, case_id, "admin")
            resolve = resolve_of(c)
            # 31 Dec 9 h; 1–4 Jan off; Tue 5 and Wed 6 Jan; 15 h of Thu 7 Jan
            assert local(resolve["due_at"]) == datetime(2027, 1, 7, 15, tzinfo=CST)
            assert resolve["provisional"] is False
            entries = retimed_entries(c)
            assert len(entries) == 1 and entries[0]["actor"] == "system:calendar"
            assert "2027年01月06日15:00" in entries[0]["note"] and "2027年01月07日15:00" in entries[0]["note"]
            # importing the same year again re-times nothing and writes no second entry
            again = await system.http.put(
                f"{system.cases_url}/v1/admin/calendar/years/2027", json=YEAR_2027, headers=admin
            )
            assert again.status_code == 200 and again.json()["retimed"] == 0
            assert len(retimed_entries(await case(system, case_id, "admin"))) == 1
            listed = (await system.http.get(f"{system.cases_url}/v1/admin/calendar", headers=admin)).json()
            assert 2027 in listed["imported_years"]
    finally:
        await forget_calendar_year(system, 2027)
        ctx.domain.deadlines.calendar = before


async def test_a_day_outside_the_year_or_twice_is_refused_naming_it(system):
    admin = await system.auth("admin")
    url = f"{system.cases_url}/v1/admin/calendar/years/2028"
    r = await system.http.put(url, json={"days": [{"day": "2027-12-31", "workday": False}]}, headers=admin)
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "days", 0, "day"]
    twice = [{"day": "2028-01-01", "workday": False}, {"day": "2028-01-01", "workday": True}]
    r = await system.http.put(url, json={"days": twice}, headers=admin)
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "days", 1, "day"]
    listed = (await system.http.get(f"{system.cases_url}/v1/admin/calendar", headers=admin)).json()
    assert 2028 not in listed["imported_years"]
    r = await system.http.put(url, json={"days": []}, headers=await system.auth("d001"))
    assert r.status_code in (403, 404)


async def test_replicas_retiming_at_once_retime_each_clock_once(system, tmp_path):
    """What a newer chinese-calendar (or another replica's import) does at startup: every replica runs the
    job on the calendar that now knows the year; each clock is re-timed once, with one timeline entry."""
    ctx = cases_context(system)
    before = ctx.domain.deadlines.calendar
    ids = [await new_year_eve_case(system, tmp_path) for _ in range(3)]
    try:
        # 2027 known with no exceptions: 1 January is a plain Friday now
        ctx.domain.deadlines.calendar = WorkCalendar({}, published_years={2027})
        with manual_clock(datetime(2027, 1, 2, 9, tzinfo=CST).astimezone(UTC)):
            counts = await asyncio.gather(*(retime(ctx.db, ctx.domain.deadlines, batch=2) for _ in range(3)))
        assert sum(counts) >= 3
        for case_id in ids:
            c = await case(system, case_id, "admin")
            resolve = resolve_of(c)
            # 31 Dec 9 h; Fri 1 Jan, Mon 4 Jan; 15 h of Tue 5 Jan
            assert local(resolve["due_at"]) == datetime(2027, 1, 5, 15, tzinfo=CST)
            assert resolve["provisional"] is False
            assert len(retimed_entries(c)) == 1
        with manual_clock(datetime(2027, 1, 2, 9, tzinfo=CST).astimezone(UTC)):
            assert await retime(ctx.db, ctx.domain.deadlines) == 0
    finally:
        ctx.domain.deadlines.calendar = before


async def test_a_case_an_action_holds_during_the_import_is_retimed_by_the_calendar_tick(system, tmp_path):
    ctx = cases_context(system)
    before = ctx.domain.deadlines.calendar
    free = await new_year_eve_case(system, tmp_path)
    held = await new_year_eve_case(system, tmp_path)
    admin = await system.auth("admin")
    refresh = next(t for t in _ticks(system.cases_app) if t.name == "refresh_calendar")
    try:
        with manual_clock(datetime(2027, 1, 2, 9, tzinfo=CST).astimezone(UTC)):
            async with holding_case(system, held):
                r = await system.http.put(
                    f"{system.cases_url}/v1/admin/calendar/years/2027", json=YEAR_2027, headers=admin
                )
                assert r.status_code == 200, r.text
            assert resolve_of(await case(system, free, "admin"))["provisional"] is False
            assert resolve_of(await case(system, held, "admin"))["provisional"] is True  # skipped, not waited for
            assert ctx.retime_owed
            await refresh.func()
            c = await case(system, held, "admin")
            assert resolve_of(c)["provisional"] is False
            assert local(resolve_of(c)["due_at"]) == datetime(2027, 1, 7, 15, tzinfo=CST)
            assert len(retimed_entries(c)) == 1 and not ctx.retime_owed
            await refresh.func()  # nothing changed since: nothing more
            assert len(retimed_entries(await case(system, held, "admin"))) == 1
    finally:
        await forget_calendar_year(system, 2027)
        ctx.domain.deadlines.calendar = before
        ctx.retime_owed = False


async def test_a_restart_that_knows_the_year_retimes_its_estimated_clocks(system, tmp_path):
    """At startup cases loads the calendar (here: 2027 imported meanwhile, as another replica or a newer
    chinese-calendar would make it known) and re-times what was timed on the estimate before serving."""
    ctx = cases_context(system)
    case_id = await new_year_eve_case(system, tmp_path)
    try:
        with manual_clock(datetime(2027, 1, 2, 9, tzinfo=CST).astimezone(UTC)):
            async with ctx.db.unit_of_work() as session:
                await calendar_service.import_year(session, 2027, {}, "新版日历", clock.now())
            assert resolve_of(await case(system, case_id, "admin"))["provisional"] is True  # nothing re-timed yet
            await start_domain(system.cases_app, ctx)
            c = await case(system, case_id, "admin")
            assert resolve_of(c)["provisional"] is False
            assert local(resolve_of(c)["due_at"]) == datetime(2027, 1, 5, 15, tzinfo=CST)
            assert len(retimed_entries(c)) == 1
    finally:
        await forget_calendar_year(system, 2027)
        async with ctx.db.unit_of_work() as session:
            assert ctx.loaded_domain is not None
            ctx.loaded_domain.deadlines.calendar = await calendar_service.load_calendar(session)
