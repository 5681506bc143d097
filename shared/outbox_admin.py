"""Operators and the outbox: what is stuck, and what to do about it.

An event the consumer keeps refusing is *parked* after `max_failures` tries. A parked event stays the
head of its aggregate (one case, one report), so the later events of that aggregate are **held, in
order**, until an operator acts — delivering them past it could, for example, close a case the
consumer never opened. The operator either

- **retries** it (after fixing the cause): it is due again at once, with its failure count reset; or
- **skips** it, with a reason: the row is kept, marked skipped (never delivered, never pruned), and the
  aggregate's later events flow again.

    GET  /v1/admin/outbox?status=parked|pending|skipped    admin JWT
    POST /v1/admin/outbox/{id}/retry                       admin JWT
    POST /v1/admin/outbox/{id}/skip   {"reason": "…"}      admin JWT
    GET  /internal/v1/outbox, POST /internal/v1/outbox/{id}/replay   the service token (scripts)
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, Field

from shared import outbox_repository as repository
from shared.auth import Principal, ServiceCaller, require_roles
from shared.db import Database, get_database
from shared.errors import NotFound
from shared.openapi import problem_responses
from shared.outbox_repository import OutboxStatus

Admin = Annotated[Principal, require_roles("admin")]
Db = Annotated[Database, Depends(get_database)]


class OutboxRow(BaseModel):
    id: int
    event_id: uuid.UUID
    type: str
    aggregate_id: str
    destination: str
    attempts: int
    failures: int
    next_attempt_at: datetime
    delivered_at: datetime | None
    parked_at: datetime | None
    last_error: str | None
    skipped_at: datetime | None = None
    skip_reason: str | None = None
    skipped_by: str | None = None


class OutboxPage(BaseModel):
    items: list[OutboxRow]


class SkipRequest(BaseModel):
    reason: str = Field(min_length=1, max_length=500, description="why the event is given up, e.g. 案件已人工补录")


class NothingToRetry(NotFound):
    default_detail = "没有待重试的事件"


class NothingToSkip(NotFound):
    default_detail = "没有可跳过的挂起事件"


RowId = Annotated[int, Path(ge=1, le=2**63 - 1, description="the outbox row's id (bigint)")]


def outbox_admin_router(schema: str) -> APIRouter:
    router = APIRouter()
    admin = APIRouter(prefix="/v1/admin/outbox", tags=["operators"])
    internal = APIRouter(prefix="/internal/v1/outbox", tags=["internal"], dependencies=[ServiceCaller])

    async def _list(db: Database, status: OutboxStatus, limit: int) -> OutboxPage:
        async with db.unit_of_work() as session:
            rows = await repository.list_rows(session, schema, status, limit)
        return OutboxPage(items=[OutboxRow.model_validate(dict(r)) for r in rows])

    async def _retry(db: Database, row_id: int) -> OutboxRow:
        async with db.unit_of_work() as session:
            row = await repository.retry_row(session, schema, row_id)
        if row is None:
            raise NothingToRetry()
        return OutboxRow.model_validate(dict(row))

    @admin.get(
        "",
        response_model=OutboxPage,
        summary="Outbox events by status (parked: waiting for an operator)",
        responses=problem_responses(401, 404, 422),
    )
    async def admin_list(
        db: Db,
        principal: Admin,
        status: OutboxStatus = "parked",
        limit: int = Query(50, ge=1, le=500),
    ) -> OutboxPage:
        return await _list(db, status, limit)

    @admin.post(
        "/{row_id}/retry",
        response_model=OutboxRow,
        summary="Try a parked event again now",
        responses=problem_responses(401, 404, 422),
    )
    async def admin_retry(row_id: RowId, db: Db, principal: Admin) -> OutboxRow:
        return await _retry(db, row_id)

    @admin.post(
        "/{row_id}/skip",
        response_model=OutboxRow,
        summary="Give up a parked event (kept as skipped); its aggregate's later events flow again",
        responses=problem_responses(401, 404, 422),
    )
    async def admin_skip(row_id: RowId, body: SkipRequest, db: Db, principal: Admin) -> OutboxRow:
        async with db.unit_of_work() as session:
            row = await repository.skip_row(
                session, schema, row_id, body.reason, principal.username or principal.subject
            )
        if row is None:
            raise NothingToSkip()
        return OutboxRow.model_validate(dict(row))

    @internal.get("", response_model=OutboxPage)
    async def list_outbox(
        db: Db,
        status: OutboxStatus = "parked",
        limit: int = Query(50, ge=1, le=500),
    ) -> OutboxPage:
        return await _list(db, status, limit)

    @internal.post("/{row_id}/replay", response_model=OutboxRow, responses=problem_responses(404, 422))
    async def replay(row_id: RowId, db: Db) -> OutboxRow:
        return await _retry(db, row_id)

    router.include_router(admin)
    router.include_router(internal)
    return router


__all__: list[Any] = ["OutboxPage", "OutboxRow", "outbox_admin_router"]
