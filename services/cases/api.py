"""Mounts cases' routers and assembles its event handlers.

The convention of every service: each domain's `events.py` holds its handlers of incoming events (here
case/events.py); the service's api.py assembles HANDLERS (event type → handler) and mounts the routers —
the public ones under /v1, the internal ones (service token) under /internal/v1. Handlers get the typed
CasesContext as their third argument."""

from fastapi import APIRouter, FastAPI

from services.cases.access.router import router as access_router
from services.cases.calendar.router import router as calendar_router
from services.cases.case.action.router import router as action_router
from services.cases.case.events import on_followup_submitted, on_report_submitted, on_reports_submitted
from services.cases.case.router import router as case_router
from services.cases.category.router import router as category_router
from services.cases.context import CasesContext
from services.cases.db import SCHEMA, inbox
from services.cases.deadline.router import internal_router as digest_router
from services.cases.deadline.router import router as deadline_router
from services.cases.document.router import router as document_router
from services.cases.identity.router import router as identity_router
from services.cases.notice.router import router as notice_router
from services.cases.org.router import router as org_router
from services.cases.stats.events import on_patrols_counted
from services.cases.stats.router import page_router as dashboard_router
from services.cases.stats.router import router as stats_router
from services.cases.subject.router import router as subject_router
from services.cases.whistle.router import router as whistle_router
from shared.context import context_of
from shared.contracts.events import FOLLOWUP_SUBMITTED, PATROLS_COUNTED, REPORT_SUBMITTED
from shared.inbox import BatchHandler, Handler, events_router, outbox_admin_router

HANDLERS: dict[str, Handler] = {
    REPORT_SUBMITTED: on_report_submitted,
    FOLLOWUP_SUBMITTED: on_followup_submitted,
    PATROLS_COUNTED: on_patrols_counted,
}
# Set-based handlers of many events of one type (shared/inbox.py: the per-event handler is the fallback).
BATCH_HANDLERS: dict[str, BatchHandler] = {REPORT_SUBMITTED: on_reports_submitted}


def _context(app: FastAPI) -> CasesContext:
    return context_of(app, CasesContext)


def routers() -> list[APIRouter]:
    return [
        identity_router,
        org_router,
        case_router,
        action_router,
        document_router,
        whistle_router,
        deadline_router,
        notice_router,
        subject_router,
        category_router,
        calendar_router,
        digest_router,
        access_router,
        stats_router,
        dashboard_router,
        events_router(inbox, HANDLERS, _context, BATCH_HANDLERS, producers=("intake",)),
        outbox_admin_router(SCHEMA),
    ]
