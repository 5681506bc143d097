"""What cases reads from its database before it may serve: the workday calendar's overrides (deadlines
depend on them). PostgreSQL away at boot does not stop the process: until the calendar is loaded every
route but health answers 503 with Retry-After (`app.state.starting`, shared/app.py), the context's
`domain` is not there (services/cases/context.py), and a background task keeps trying."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from fastapi import FastAPI

from services.cases.calendar import WorkCalendar
from services.cases.calendar import service as calendar_service
from services.cases.case.domain import CaseDomain
from services.cases.context import WAITING_FOR_DATABASE, CasesContext
from services.cases.deadline.jobs import retime
from services.cases.deadline.policy import load_policy
from services.cases.deadline.service import DeadlineEngine
from services.cases.grading import load_rules
from services.cases.subject.policy import load_risk_policy
from shared.clock import CHINA_TZ, clock
from shared.db import Database
from shared.errors import is_database_unavailable

log = logging.getLogger("cases.startup")


async def load_calendar(db: Database) -> WorkCalendar:
    async with db.unit_of_work() as session:
        calendar = await calendar_service.load_calendar(session)
    calendar.warn_if_next_year_unknown(clock.now().astimezone(CHINA_TZ).date())
    return calendar


async def start_domain(app: FastAPI, ctx: CasesContext) -> None:
    """Build the case domain (grading rules, deadline policy, risk policy, calendar). Files are read now and must be
    right; the calendar waits for the database if it is away."""
    rules = load_rules(ctx.settings.grading_rules_file or None)
    policy = load_policy(ctx.settings.deadline_policy_file or None)
    risk = load_risk_policy(ctx.settings.risk_policy_file or None)

    def build(calendar: WorkCalendar) -> None:
        ctx.loaded_domain = CaseDomain(rules=rules, deadlines=DeadlineEngine(policy, calendar), risk=risk)

    ctx.loaded_domain = None
    try:
        build(await load_calendar(ctx.db))
    except Exception as exc:
        if not is_database_unavailable(exc):
            raise
        log.warning("database unavailable at start (%s): answering 503 until it is there", type(exc).__name__)
        app.state.starting = WAITING_FOR_DATABASE
        app.state.domain_loader = asyncio.create_task(_keep_trying(app, ctx, build))
        return
    await retime_estimated(ctx)


async def retime_estimated(ctx: CasesContext) -> None:
    """Clocks timed on an estimated calendar year that the calendar now knows (a newer chinese-calendar,
    an imported year) are re-timed; a failure here is logged and left to the calendar refresh tick."""
    if ctx.loaded_domain is None:
        return
    try:
        await retime(ctx.db, ctx.loaded_domain.deadlines)
    except Exception:
        log.exception("re-timing clocks timed on an estimated calendar failed; the calendar tick tries again")


async def _keep_trying(app: FastAPI, ctx: CasesContext, build: Callable[[WorkCalendar], None]) -> None:
    while True:
        await asyncio.sleep(ctx.settings.startup_retry_seconds)
        try:
            calendar = await load_calendar(ctx.db)
        except Exception as exc:  # keep trying: the process must come up by itself
            if is_database_unavailable(exc):
                log.info("database still unavailable (%s)", type(exc).__name__)
            else:
                log.exception("loading the workday calendar failed")
            continue
        build(calendar)
        app.state.starting = None
        log.warning("database reached: workday calendar loaded, serving")
        await retime_estimated(ctx)
        return


async def stop_domain(app: FastAPI) -> None:
    task = getattr(app.state, "domain_loader", None)
    if task is not None and not task.done():
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
