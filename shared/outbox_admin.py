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
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth import Principal, ServiceCaller, require_roles
from shared.clock import clock
from shared.errors import NotFound
from shared.openapi import problem_responses

_COLUMNS = """id, event_id, type, aggregate_id, destination, attempts, failures, next_attempt_at, delivered_at,
              parked_at, last_error, skipped_at, skip_reason, skipped_by"""
_STATUS = {
    "parked": "parked_at IS NOT NULL AND delivered_at IS NULL",
    "pending": "delivered_at IS NULL AND parked_at IS NULL",
    "skipped": "skipped_at IS NOT NULL",
}


Admin = Annotated[Principal, require_roles("admin")]


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


# SQL ------------------------------------------------------------------------------------------


async def list_rows(session: AsyncSession, schema: str, status: str, limit: int) -> list[OutboxRow]:
    rows = await session.execute(
        text(f"SELECT {_COLUMNS} FROM {schema}.outbox WHERE {_STATUS[status]} ORDER BY id LIMIT :n"), {"n": limit}
    )
    return [OutboxRow(**r) for r in rows.mappings()]


async def retry_row(session: AsyncSession, schema: str, row_id: int) -> OutboxRow | None:
    row = await session.execute(
        text(
            f"""UPDATE {schema}.outbox SET parked_at = NULL, failures = 0, next_attempt_at = :now, lease_until = NULL
                WHERE id = :id AND delivered_at IS NULL RETURNING {_COLUMNS}"""
        ),
        {"id": row_id, "now": clock.now()},
    )
    found = row.mappings().first()
    return OutboxRow(**found) if found else None


async def skip_row(session: AsyncSession, schema: str, row_id: int, reason: str, actor: str) -> OutboxRow | None:
    """Only a parked event can be skipped: a pending one is still being tried."""
    now = clock.now()
    row = await session.execute(
        text(
            f"""UPDATE {schema}.outbox SET delivered_at = :now, skipped_at = :now, skip_reason = :reason,
                    skipped_by = :actor, lease_until = NULL
                WHERE id = :id AND delivered_at IS NULL AND parked_at IS NOT NULL RETURNING {_COLUMNS}"""
        ),
        {"id": row_id, "now": now, "reason": reason, "actor": actor},
    )
    found = row.mappings().first()
    return OutboxRow(**found) if found else None


# routes ---------------------------------------------------------------------------------------


RowId = Annotated[int, Path(ge=1, le=2**63 - 1, description="the outbox row's id (bigint)")]


def outbox_admin_router(schema: str) -> APIRouter:
    router = APIRouter()
    admin = APIRouter(prefix="/v1/admin/outbox", tags=["operators"])
    internal = APIRouter(prefix="/internal/v1/outbox", tags=["internal"], dependencies=[ServiceCaller])

    async def _list(request: Request, status: str, limit: int) -> OutboxPage:
        async with request.app.state.db.unit_of_work() as session:
            return OutboxPage(items=await list_rows(session, schema, status, limit))

    async def _retry(request: Request, row_id: int) -> OutboxRow:
        async with request.app.state.db.unit_of_work() as session:
            row = await retry_row(session, schema, row_id)
        if row is None:
            raise NotFound("没有待重试的事件")
        return row

    @admin.get(
        "",
        response_model=OutboxPage,
        summary="Outbox events by status (parked: waiting for an operator)",
        responses=problem_responses(401, 404, 422),
    )
    async def admin_list(
        request: Request,
        principal: Admin,
        status: Literal["parked", "pending", "skipped"] = "parked",
        limit: int = Query(50, ge=1, le=500),
    ) -> OutboxPage:
        return await _list(request, status, limit)

    @admin.post(
        "/{row_id}/retry",
        response_model=OutboxRow,
        summary="Try a parked event again now",
        responses=problem_responses(401, 404, 422),
    )
    async def admin_retry(row_id: RowId, request: Request, principal: Admin) -> OutboxRow:
        return await _retry(request, row_id)

    @admin.post(
        "/{row_id}/skip",
        response_model=OutboxRow,
        summary="Give up a parked event (kept as skipped); its aggregate's later events flow again",
        responses=problem_responses(401, 404, 422),
    )
    async def admin_skip(row_id: RowId, body: SkipRequest, request: Request, principal: Admin) -> OutboxRow:
        async with request.app.state.db.unit_of_work() as session:
            row = await skip_row(session, schema, row_id, body.reason, principal.username or principal.subject)
        if row is None:
            raise NotFound("没有可跳过的挂起事件")
        return row

    @internal.get("", response_model=OutboxPage)
    async def list_outbox(
        request: Request,
        status: Literal["parked", "pending", "skipped"] = "parked",
        limit: int = Query(50, ge=1, le=500),
    ) -> OutboxPage:
        return await _list(request, status, limit)

    @internal.post("/{row_id}/replay", response_model=OutboxRow, responses=problem_responses(404, 422))
    async def replay(row_id: RowId, request: Request) -> OutboxRow:
        return await _retry(request, row_id)

    router.include_router(admin)
    router.include_router(internal)
    return router


__all__: list[Any] = ["OutboxPage", "OutboxRow", "outbox_admin_router"]
