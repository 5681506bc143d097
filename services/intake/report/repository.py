"""Reports: the set-based insert of a push batch (with its outbox rows) and the lookups around it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

# One statement for a whole push batch: the reports, and for each new case-making report its
# report.submitted event built from the stored row. Runs on the request's connection and transaction.
_INSERT = """
    WITH input AS (
      SELECT * FROM jsonb_to_recordset($1::jsonb) AS r(
        id uuid, worker_id text, device_id text, kind text, category text, title text, description text,
        grid text, lat float8, lon float8, address text, occurred_at timestamptz, captured_at timestamptz,
        parties jsonb, people_involved int, amount_cny numeric, flags jsonb, attachments jsonb, followup jsonb,
        content_hash text, event_type text, event_id uuid)
    ), ins AS (
      INSERT INTO intake.reports (id, report_no, worker_id, device_id, kind, category, title, description, grid,
        lat, lon, address, occurred_at, captured_at, parties, people_involved, amount_cny, flags, attachments,
        followup, content_hash, received_at, clock_offset_ms, state, status_at)
      SELECT id, 'R' || $2 || '-' || lpad(nextval('intake.report_no_seq')::text, 6, '0'), worker_id, device_id,
        kind, category, title, description, grid, lat, lon, address, occurred_at, captured_at, parties,
        people_involved, amount_cny, flags, attachments, followup, decode(content_hash, 'hex'), $3, $4,
        'submitted', $3
      FROM input
      ON CONFLICT (id) DO NOTHING
      RETURNING *
    ), ob AS (
      INSERT INTO intake.outbox (event_id, type, aggregate_id, destination, payload, occurred_at, next_attempt_at)
      SELECT i.event_id, i.event_type, ins.id::text, 'cases',
             jsonb_strip_nulls(jsonb_build_object(
               'report_id', ins.id, 'report_no', ins.report_no, 'worker_id', ins.worker_id, 'device_id', ins.device_id,
               'kind', ins.kind, 'category', ins.category, 'title', ins.title, 'description', ins.description,
               'grid', ins.grid, 'occurred_at', ins.occurred_at, 'captured_at', ins.captured_at,
               'received_at', ins.received_at,
               'parties', ins.parties, 'people_involved', ins.people_involved, 'amount_cny', ins.amount_cny::text,
               'flags', ins.flags, 'attachments', ins.attachments, 'followup', ins.followup,
               'location', CASE WHEN ins.lat IS NULL THEN NULL
                           ELSE jsonb_build_object('lat', ins.lat, 'lon', ins.lon, 'address', ins.address) END)),
             $3, $3
      FROM ins JOIN input i ON i.id = ins.id
      WHERE i.event_type IS NOT NULL
    )
    SELECT id, report_no FROM ins
"""


async def _driver(session: AsyncSession) -> Any:
    """The asyncpg connection under the session, inside the request's transaction (hot path only)."""
    conn = await session.connection()
    raw = await conn.get_raw_connection()
    return raw.driver_connection


async def insert_batch(
    session: AsyncSession, rows: list[dict[str, Any]], day: str, now: datetime, offset_ms: int | None
) -> dict[uuid.UUID, str]:
    """Insert new reports in one statement; rows whose id exists already are left alone.
    Returns the report numbers of the rows inserted now."""
    if not rows:
        return {}
    driver = await _driver(session)
    records = await driver.fetch(_INSERT, orjson.dumps(rows).decode(), day, now, offset_ms)
    return {r["id"]: r["report_no"] for r in records}


async def existing(session: AsyncSession, ids: list[uuid.UUID]) -> dict[uuid.UUID, Any]:
    if not ids:
        return {}
    result = await session.execute(
        text("SELECT id, report_no, worker_id, content_hash FROM intake.reports WHERE id = ANY(:ids)"), {"ids": ids}
    )
    return {r.id: r for r in result}


async def apply_status(session: AsyncSession, report_id: uuid.UUID, fields: dict[str, Any], now: datetime) -> Any:
    """Record what cases says became of a report; returns the report's worker and number."""
    return (
        await session.execute(
            text(
                """UPDATE intake.reports SET state = :state, case_id = COALESCE(:case_id, case_id),
                     case_number = COALESCE(:case_number, case_number), level = COALESCE(:level, level),
                     reply = COALESCE(:reply, reply), status_at = :now
                   WHERE id = :id RETURNING worker_id, report_no"""
            ),
            {**fields, "id": report_id, "now": now},
        )
    ).first()


async def recent_for_worker(session: AsyncSession, worker_id: str, since: datetime, limit: int = 5000) -> list[Any]:
    result = await session.execute(
        text(
            """SELECT id, report_no, kind, title, state, case_number, level, reply, received_at, status_at
               FROM intake.reports WHERE worker_id = :w AND received_at >= :since
               ORDER BY received_at DESC LIMIT :n"""
        ),
        {"w": worker_id, "since": since, "n": limit},
    )
    return list(result)


async def apply_statuses(
    session: AsyncSession, updates: list[tuple[uuid.UUID, dict[str, Any]]], now: datetime
) -> dict[uuid.UUID, Any]:
    """`apply_status` for many reports (each once) in one statement; returns worker and number by report id."""
    if not updates:
        return {}
    result = await session.execute(
        text(
            """UPDATE intake.reports r SET state = u.state, case_id = COALESCE(u.case_id, r.case_id),
                 case_number = COALESCE(u.case_number, r.case_number), level = COALESCE(u.level, r.level),
                 reply = COALESCE(u.reply, r.reply), status_at = :now
               FROM unnest(CAST(:id AS uuid[]), CAST(:state AS text[]), CAST(:case_id AS uuid[]),
                           CAST(:case_number AS text[]), CAST(:level AS text[]), CAST(:reply AS text[]))
                    AS u(id, state, case_id, case_number, level, reply)
               WHERE r.id = u.id RETURNING r.id, r.worker_id, r.report_no"""
        ),
        {
            "id": [i for i, _ in updates],
            "state": [f["state"] for _, f in updates],
            "case_id": [f["case_id"] for _, f in updates],
            "case_number": [f["case_number"] for _, f in updates],
            "level": [f["level"] for _, f in updates],
            "reply": [f["reply"] for _, f in updates],
            "now": now,
        },
    )
    return {r.id: r for r in result}
