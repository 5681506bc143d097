"""The consumer side of the event path: `POST /internal/v1/events` with an inbox keyed by event id,
so a redelivered event changes nothing twice. Part of shared's database machinery (it writes the
service's inbox table)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from datetime import datetime, timedelta
from typing import Any, Literal, TypeVar, cast

import orjson
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field
from sqlalchemy import CursorResult, Table, select, text
from sqlalchemy import delete as sa_delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth import service_caller
from shared.clock import clock
from shared.db import Database, error_summary, is_database_unavailable, is_lock_conflict, prune_in_batches
from shared.errors import Forbidden, ServiceUnavailable

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
# A set-based handler of many events of one type at once, with the same effect as the event handler applied
# to each in turn: (the batch's session, the events in order, the service's context) → None.
BatchHandler = Callable[[AsyncSession, list[EventIn], ContextT], Awaitable[None]]


def _plan(events: list[EventIn], batched: Mapping[str, Any]) -> list[tuple[str | None, list[tuple[int, EventIn]]]]:
    """The order a batch is applied in: by layers, layer k holding the k-th event of each aggregate (the
    relay sends an aggregate's run of events in order), the layers one after another. Within a layer the
    events of a type with a batch handler form one group (the groups in the order their types first appear),
    every other event goes alone, in the order received; an event id seen before in the batch goes alone at
    the end. Events of different aggregates carry no order between them, so per-aggregate order is all
    there is to keep, and it is kept: an aggregate's k-th event is applied after its (k-1)-th."""
    depth: dict[str, int] = {}
    ids: set[uuid.UUID] = set()
    layers: list[list[tuple[str | None, list[tuple[int, EventIn]]]]] = []
    rest: list[tuple[str | None, list[tuple[int, EventIn]]]] = []
    for i, ev in enumerate(events):
        if ev.id in ids:
            rest.append((None, [(i, ev)]))
            continue
        ids.add(ev.id)
        k = depth.get(ev.aggregate_id, 0)
        depth[ev.aggregate_id] = k + 1
        if k == len(layers):
            layers.append([])
        layer = layers[k]
        if ev.type in batched:
            group = next((g for t, g in layer if t == ev.type), None)
            if group is None:
                layer.append((ev.type, [(i, ev)]))
            else:
                group.append((i, ev))
        else:
            layer.append((None, [(i, ev)]))
    return [step for layer in layers for step in layer] + rest


async def consume(
    db: Database,
    inbox: Table,
    handlers: Mapping[str, Handler[ContextT]],
    batch: EventBatch,
    ctx: ContextT,
    batch_handlers: Mapping[str, BatchHandler[ContextT]] | None = None,
) -> list[EventResult]:
    """Process a batch in one transaction, layer by layer (`_plan`). Events of a type with a batch handler
    are applied together in one savepoint (their inbox rows in one statement, then the handler once); if that
    fails, they are applied again one savepoint per event, so a poison event fails alone. Every other event
    gets its own savepoint. A failed event defers the later events of the same aggregate, so per-aggregate
    order holds."""
    batched = {t: h for t, h in (batch_handlers or {}).items() if t in handlers}
    results: dict[int, EventResult] = {}
    blocked: set[str] = set()
    now = clock.now()
    async with db.unit_of_work() as session:
        for type_, step in _plan(list(batch.events), batched):
            group = []
            for i, ev in step:
                if ev.aggregate_id in blocked:  # an earlier event of its aggregate failed in this batch
                    results[i] = EventResult(id=ev.id, status="deferred")
                else:
                    group.append((i, ev))
            if type_ is not None and len(group) > 1:
                done = await _apply_together(session, inbox, batched[type_], batch.source, group, ctx, now)
                if done is not None:
                    results.update(done)
                    continue
            for i, ev in group:
                results[i] = await _apply_one(session, inbox, handlers, batch.source, ev, ctx, now, blocked)
    return [results[i] for i in range(len(batch.events))]


CONFLICT_ATTEMPTS = 3  # a savepoint that lost a race with a concurrent transaction is applied this often at most
T = TypeVar("T")


async def _in_savepoint(session: AsyncSession, work: Callable[[], Awaitable[T]], what: str) -> T:
    """`work` in a savepoint. A lost race with another transaction (a deadlock PostgreSQL broke on this side, a
    serialization failure) is no fault of the events: the savepoint is rolled back, which lets the other
    transaction go on, and applied again; after `CONFLICT_ATTEMPTS` the whole POST is refused as 503 (the relay
    sends it again later and never parks it for that)."""
    for attempt in range(1, CONFLICT_ATTEMPTS + 1):
        try:
            async with session.begin_nested():
                return await work()
        except Exception as exc:
            if not is_lock_conflict(exc) or is_database_unavailable(exc):
                raise
            if attempt == CONFLICT_ATTEMPTS:
                log.warning(
                    "%s lost %d races with concurrent work (%s): refused for now", what, attempt, error_summary(exc)
                )
                raise ServiceUnavailable("与同时处理的其他事件争用同一数据，请稍后重试", retry_after=1) from exc
            log.info("%s lost a race with concurrent work (%s); applying it again", what, error_summary(exc))
    raise AssertionError("unreachable")  # the loop returns or raises


async def _apply_together(
    session: AsyncSession,
    inbox: Table,
    handler: BatchHandler[ContextT],
    source: str,
    group: list[tuple[int, EventIn]],
    ctx: ContextT,
    now: datetime,
) -> dict[int, EventResult] | None:
    """Events of one type, each the first of its aggregate in the batch (and each id once), in one savepoint;
    None when that failed (rolled back: the caller applies them one by one)."""
    unique = [ev for _, ev in group]

    async def work() -> set[uuid.UUID]:
        # one statement text whatever the batch's size (a multi-row VALUES is compiled afresh for each size)
        stmt = text(
            f"""INSERT INTO {inbox.fullname} (event_id, type, source, processed_at)
                SELECT e, t, :source, :now FROM unnest(CAST(:ids AS uuid[]), CAST(:types AS text[])) AS u(e, t)
                ON CONFLICT (event_id) DO NOTHING RETURNING event_id"""
        )
        params = {
            "ids": [ev.id for ev in unique],
            "types": [ev.type for ev in unique],
            "source": source,
            "now": now,
        }
        new = {r.event_id for r in await session.execute(stmt, params)}
        fresh = [ev for ev in unique if ev.id in new]
        if fresh:
            await handler(session, fresh, ctx)
        return new

    try:
        new = await _in_savepoint(session, work, f"a batch of {len(unique)} {unique[0].type} events")
    except ServiceUnavailable:
        raise
    except Exception as exc:
        if is_database_unavailable(exc):
            raise  # an outage: the whole batch comes again later
        log.warning(
            "a batch of %d %s events failed together (%s); applying them one by one",
            len(unique),
            unique[0].type,
            error_summary(exc),
        )
        return None
    return {i: EventResult(id=ev.id, status="processed" if ev.id in new else "duplicate") for i, ev in group}


async def _apply_one(
    session: AsyncSession,
    inbox: Table,
    handlers: Mapping[str, Handler[ContextT]],
    source: str,
    ev: EventIn,
    ctx: ContextT,
    now: datetime,
    blocked: set[str],
) -> EventResult:
    if ev.aggregate_id in blocked:
        return EventResult(id=ev.id, status="deferred")
    handler = handlers.get(ev.type)
    if handler is None:
        blocked.add(ev.aggregate_id)
        return EventResult(id=ev.id, status="failed", error=f"unknown event type {ev.type}")

    async def work() -> EventResult:
        stmt = (
            pg_insert(inbox)
            .values(event_id=ev.id, type=ev.type, source=source, processed_at=now)
            .on_conflict_do_nothing(index_elements=["event_id"])
            .returning(inbox.c.event_id)
        )
        if (await session.execute(stmt)).first() is None:
            return EventResult(id=ev.id, status="duplicate")
        await handler(session, ev, ctx)
        return EventResult(id=ev.id, status="processed")

    try:
        return await _in_savepoint(session, work, f"event {ev.id} ({ev.type})")
    except ServiceUnavailable:
        raise  # lost its races: the whole POST comes again later
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
        return EventResult(id=ev.id, status="failed", error=error)


async def prune_inbox(db: Database, inbox: Table, keep: timedelta, batch: int) -> int:
    """The inbox's retention tick: event ids processed longer ago than `keep` (INBOX_RETENTION_DAYS, far
    beyond any redelivery: a relay retries within minutes) go, in short batches."""
    cut = clock.now() - keep

    async def delete(session: AsyncSession, n: int) -> int:
        old = select(inbox.c.event_id).where(inbox.c.processed_at < cut).limit(n).scalar_subquery()
        result = await session.execute(sa_delete(inbox).where(inbox.c.event_id.in_(old)))
        return cast("CursorResult[Any]", result).rowcount or 0

    return await prune_in_batches(db, delete, batch)


class _OrjsonRequest(Request):
    """A request whose JSON body is parsed by orjson: a POST of events is a few hundred kilobytes, and the
    standard library's parser took a measurable share of a consumer's CPU. Same errors: orjson's decode
    error is a json.JSONDecodeError (FastAPI answers 422 json_invalid)."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = orjson.loads(await self.body())
        return self._json


class _OrjsonRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def parse_with_orjson(request: Request) -> Response:
            return await handler(_OrjsonRequest(request.scope, request.receive))

        return parse_with_orjson


def events_router(
    inbox: Table,
    handlers: Mapping[str, Handler[Any]],
    context: Callable[[FastAPI], Any] = lambda app: app.state,
    batch_handlers: Mapping[str, BatchHandler[Any]] | None = None,
    producers: tuple[str, ...] = (),
) -> APIRouter:
    """The service's event endpoint; `context(app)` is what the handlers get as their third argument;
    `batch_handlers` (event type → set-based handler) take the events of their type together. Only the
    `producers` (services whose outboxes send here) may post, each under its own name as the batch's source:
    another service's valid credential is 401, a source that is not the caller 403."""
    router = APIRouter(prefix="/internal/v1", tags=["internal"], route_class=_OrjsonRoute)
    caller_dependency = service_caller(*producers)

    @router.post("/events", response_model=EventResults, summary="Receive events from another service's outbox")
    async def receive_events(batch: EventBatch, request: Request, caller: str = caller_dependency) -> EventResults:
        if batch.source != caller:
            raise Forbidden(f"事件来源 {batch.source} 与服务凭据（{caller}）不符", code="source_mismatch")
        results = await consume(request.app.state.db, inbox, handlers, batch, context(request.app), batch_handlers)
        return EventResults(results=results)

    return router


def outbox_admin_router(schema: str) -> APIRouter:
    """The operators' view of this service's outbox (shared/outbox_admin.py)."""
    from shared.outbox_admin import outbox_admin_router as build

    return build(schema)
