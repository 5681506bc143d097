"""Mounts cases' routers."""

from fastapi import APIRouter

from services.cases.calendar.router import router as calendar_router
from services.cases.case.access_router import router as access_router
from services.cases.case.action_router import router as action_router
from services.cases.case.router import router as case_router
from services.cases.db import SCHEMA, inbox
from services.cases.deadline.digest import router as digest_router
from services.cases.deadline.router import router as deadline_router
from services.cases.events import HANDLERS
from services.cases.identity.router import router as identity_router
from services.cases.org.router import router as org_router
from services.cases.stats.router import page_router as dashboard_router
from services.cases.stats.router import router as stats_router
from services.cases.whistle.router import router as whistle_router
from shared.inbox import events_router, outbox_admin_router


def routers() -> list[APIRouter]:
    return [
        identity_router,
        org_router,
        case_router,
        action_router,
        whistle_router,
        deadline_router,
        calendar_router,
        digest_router,
        access_router,
        stats_router,
        dashboard_router,
        events_router(inbox, HANDLERS),
        outbox_admin_router(SCHEMA),
    ]
