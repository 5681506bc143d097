"""The consumer side of the event path: `POST /internal/v1/events` with an inbox keyed by event id,
so a redelivered event changes nothing twice. Part of shared's database machinery (it writes the
service's inbox table)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, Literal, TypeVar, cast

from fastapi import APIRouter, FastAPI, Request
from pydantic import BaseModel, Field
from sqlalchemy import CursorResult, Table, select
from sqlalchemy import delete as sa_delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth import ServiceCaller
from shared.clock import clock
from shared.db import Database, error_summary, is_database_unavailable, prune_in_batches

log = logging.getLogger("shared.inbox")


class EventIn(BaseModel):
    id: uuid.UUID
    type: str = Field(min_length=1, max_length=100)
    aggregate_id: str = Field(min_length=1, max_length=200)
    occurred_at: datetime
    payload: dict[str, Any]


class EventBatch(BaseModel):
    source: str = Field(min_length=1, max_length=50)
    events: list[EventIn] = Field(max_length=1000)


class EventResult(BaseModel):
    id: uuid.UUID
    status: Literal["processed", "duplicate", "failed", "deferred"]
    error: str | None = None


class EventResults(BaseModel):
    results: list[EventResult]


ContextT = TypeVar("ContextT")

# An event handler: (the batch's session, the event, the service's context) → None.
Handler = Callable[[AsyncSession, EventIn, ContextT], Awaitable[None]]


async def consume(
    db: Database, inbox: Table, handlers: Mapping[str, Handler[ContextT]], batch: EventBatch, ctx: ContextT
) -> list[EventResult]:
    """Process a batch in order in one transaction, one savepoint per event. A failed event defers the
    later events of the same aggregate, so per-aggregate order holds."""
    results: list[EventResult] = []
    blocked: set[str] = set()
    now = clock.now()
    async with db.unit_of_work() as session:
        for ev in batch.events:
            if ev.aggregate_id in blocked:
                results.append(EventResult(id=ev.id, status="deferred"))
                continue
            handler = handlers.get(ev.type)
            if handler is None:
                blocked.add(ev.aggregate_id)
                results.append(EventResult(id=ev.id, status="failed", error=f"unknown event type {ev.type}"))
                continue
            try:
                async with session.begin_nested():
                    stmt = (
                        pg_insert(inbox)
                        .values(event_id=ev.id, type=ev.type, source=batch.source, processed_at=now)
                        .on_conflict_do_nothing(index_elements=["event_id"])
                        .returning(inbox.c.event_id)
                    )
                    if (await session.execute(stmt)).first() is None:
                        results.append(EventResult(id=ev.id, status="duplicate"))
                        continue
                    await handler(session, ev, ctx)
                results.append(EventResult(id=ev.id, status="processed"))
            except Exception as exc:  # one poison event must not sink the batch
                if is_database_unavailable(exc):
                    raise  # an outage: the whole batch comes again later
                # the event's own fault (a data error, a constraint, a bug): it fails alone, the producer
                # parks it after its retries; the message carries no SQL parameter (error_summary)
                error = error_summary(exc)
                log.error(
                    "event %s (%s) failed: %s",
                    ev.id,
                    ev.type,
                    error,
                    exc_info=exc,
                    extra={"event_id": str(ev.id), "event_type": ev.type},
                )
                blocked.add(ev.aggregate_id)
                results.append(EventResult(id=ev.id, status="failed", error=error))
    return results


async def prune_inbox(db: Database, inbox: Table, keep: timedelta, batch: int) -> int:
    """The inbox's retention tick: event ids processed longer ago than `keep` (INBOX_RETENTION_DAYS, far
    beyond any redelivery: a relay retries within minutes) go, in short batches."""
    cut = clock.now() - keep

    async def delete(session: AsyncSession, n: int) -> int:
        old = select(inbox.c.event_id).where(inbox.c.processed_at < cut).limit(n).scalar_subquery()
        result = await session.execute(sa_delete(inbox).where(inbox.c.event_id.in_(old)))
        return cast("CursorResult[Any]", result).rowcount or 0

    return await prune_in_batches(db, delete, batch)


def events_router(
    inbox: Table, handlers: Mapping[str, Handler[Any]], context: Callable[[FastAPI], Any] = lambda app: app.state
) -> APIRouter:
    """The service's event endpoint; `context(app)` is what the handlers get as their third argument."""
    router = APIRouter(prefix="/internal/v1", tags=["internal"], dependencies=[ServiceCaller])

    @router.post("/events", response_model=EventResults, summary="Receive events from another service's outbox")
    async def receive_events(batch: EventBatch, request: Request) -> EventResults:
        results = await consume(request.app.state.db, inbox, handlers, batch, context(request.app))
        return EventResults(results=results)

    return router


def outbox_admin_router(schema: str) -> APIRouter:
    """The operators' view of this service's outbox (shared/outbox_admin.py)."""
    from shared.outbox_admin import outbox_admin_router as build

    return build(schema)
