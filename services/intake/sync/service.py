"""Push (phones → server) and pull (server → phones): the grid worker's sync, safe to retry at any point."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import uuid
from datetime import datetime, timedelta
from typing import Any

import orjson
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.attachment import service as attachments
from services.intake.config import PushRateLimit
from services.intake.device import service as devices
from services.intake.device.exceptions import DeviceMismatch
from services.intake.directory import service as directory
from services.intake.feed import service as feed
from services.intake.feed.notifier import FeedNotifier
from services.intake.patrol import service as patrols
from services.intake.report import service as reports
from services.intake.report.schemas import Party, ReportItem, field_errors, printable_id
from services.intake.sync.exceptions import (
    CursorExpired,
    CursorUnreadable,
    DeviceTimeUnreadable,
    DeviceTimeWithoutZone,
    InvalidPushBatch,
    PushNotJson,
    ReportWriteRace,
    TooManyItems,
)
from services.intake.sync.schemas import Change, PullResponse, PushRequest, PushResponse, PushResult
from services.intake.task import service as tasks
from shared.auth import Principal
from shared.clock import china_date_str, clock
from shared.contracts.events import CASE_MAKING_KINDS, FOLLOWUP_SUBMITTED, REPORT_SUBMITTED
from shared.db import Database
from shared.pii import PiiCipher


def parse_device_time(value: str | None, now: datetime) -> int | None:
    """The phone's clock at send time → its offset from ours in ms (positive: the phone runs ahead)."""
    if not value:
        return None
    try:
        device_time = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise DeviceTimeUnreadable() from None
    if device_time.tzinfo is None:
        raise DeviceTimeWithoutZone()
    offset = int((device_time - now).total_seconds() * 1000)
    return max(min(offset, 2**31 - 1), -(2**31))


def parse_push(raw: bytes, max_items: int = 500) -> PushRequest:
    """The push body, parsed with orjson (the hot path) and checked as a whole; items are checked one by one later.
    More than `max_items` items is a whole-request refusal: 413 naming the limit."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        data = _loads_with_lone_surrogates(raw)
        if data is None:
            raise PushNotJson(str(exc)) from None
    items = data.get("items") if isinstance(data, dict) else None
    if isinstance(items, list) and len(items) > max_items:
        raise TooManyItems(max_items, len(items))
    try:
        return PushRequest.model_validate(data)
    except ValidationError as exc:
        raise InvalidPushBatch(
            [{"loc": ["body", *e["loc"]], "msg": e["msg"], "type": e["type"]} for e in exc.errors(include_url=False)]
        ) from None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _loads_with_lone_surrogates(raw: bytes) -> Any:
    """The body orjson refused, read again by the standard parser, which accepts a lone surrogate
    escape ("\\ud83d", e.g. a title cut in the middle of an emoji): that is JSON, and only the item
    holding it is rejected, naming the field. None when the body is not JSON after all."""
    try:
        return json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None


def content_hash(item: ReportItem) -> str:
    """Hash of the item as the server understood it (its canonical JSON, fields in model order); a retry
    of the same item hashes the same."""
    return hashlib.sha256(ReportItem.__pydantic_serializer__.to_json(item)).hexdigest()


def _party_wire(cipher: PiiCipher, party: Party) -> dict[str, Any]:
    return {
        "name": party.name,
        "role": party.role,
        "relation": party.relation,
        "id_number_enc": cipher.encrypt(party.id_number),
        "id_number_hash": cipher.lookup_hash("id_number", party.id_number),
        "phone_enc": cipher.encrypt(party.phone),
        "phone_hash": cipher.lookup_hash("phone", party.phone),
    }


def _row(item: ReportItem, principal: Principal, device_id: str, cipher: PiiCipher, digest: str) -> dict[str, Any]:
    parties = [_party_wire(cipher, p) for p in item.parties]
    loc = item.location
    followup = (
        {
            "task_id": str(item.task_id),
            "case_id": str(item.case_id),
            "satisfaction": item.satisfaction,
            "notes": item.notes,
        }
        if item.kind == "followup"
        else None
    )
    row: dict[str, Any] = {
        "id": str(item.id),
        "worker_id": principal.subject,
        "device_id": device_id,
        "kind": item.kind,
        "category": item.category,
        "title": item.title,
        "description": item.description,
        "grid": item.grid,
        "lat": loc.lat if loc else None,
        "lon": loc.lon if loc else None,
        "address": loc.address if loc else None,
        "occurred_at": item.occurred_at.isoformat() if item.occurred_at else None,
        "captured_at": item.captured_at.isoformat() if item.captured_at else None,
        "parties": parties,
        "people_involved": item.people_involved,
        "amount_cny": str(item.amount_cny) if item.amount_cny is not None else None,
        "flags": list(item.flags),
        "attachments": list(item.attachments),
        "followup": followup,
        "content_hash": digest,
        # the event itself is built in SQL from the stored row (no second copy of the report on the wire)
        "event_type": FOLLOWUP_SUBMITTED
        if item.kind == "followup"
        else REPORT_SUBMITTED
        if item.kind in CASE_MAKING_KINDS
        else None,
        "event_id": str(uuid.uuid4()),
    }
    return row


def _errors(exc: ValidationError) -> list[dict[str, Any]]:
    return field_errors(exc.errors(include_url=False))


async def push(
    session: AsyncSession,
    principal: Principal,
    device_id: str,
    raw_items: list[dict[str, Any]],
    device_time: str | None,
    cipher: PiiCipher,
    rate: PushRateLimit,
) -> PushResponse:
    now = clock.now()
    if principal.device_id and device_id != principal.device_id:
        raise DeviceMismatch()
    offset_ms = parse_device_time(device_time, now)
    await devices.touch_for_push(session, device_id, principal.subject, now, offset_ms, len(raw_items), rate)

    results: list[PushResult | None] = [None] * len(raw_items)
    parsed: list[tuple[int, ReportItem, str]] = []
    for i, raw in enumerate(raw_items):
        raw_id = raw.get("id") if isinstance(raw, dict) else None
        try:
            item = ReportItem.model_validate(raw)
        except ValidationError as exc:
            results[i] = PushResult(id=printable_id(raw_id), status="rejected", errors=_errors(exc))
            continue
        parsed.append((i, item, content_hash(item)))

    # Grid binding: an area the worker's token names, unless intake's copy knows it as retired (cases
    # issued the token, so an area intake has not heard of yet still binds: a valid report is never
    # refused for our lag), or a live grid below one of those in intake's copy (a retired grid binds
    # no new report; its old reports keep their scope).
    grids = sorted({it.grid for _, it, _ in parsed if it.grid and it.grid not in principal.areas})
    allowed = await directory.bound_areas(session, sorted(principal.areas), grids)
    followup_errors = await _followup_errors(session, principal, [it for _, it, _ in parsed if it.kind == "followup"])
    first_by_id: dict[uuid.UUID, tuple[int, str]] = {}
    rows: list[dict[str, Any]] = []
    pending: list[tuple[int, ReportItem, str]] = []
    for i, item, digest in parsed:
        if item.grid and item.grid not in allowed:
            results[i] = PushResult(
                id=str(item.id),
                status="rejected",
                errors=[{"loc": ["grid"], "msg": "不是本人负责的网格", "type": "grid_not_bound"}],
            )
            continue
        if item.id in followup_errors:
            results[i] = PushResult(id=str(item.id), status="rejected", errors=[followup_errors[item.id]])
            continue
        if item.id in first_by_id:  # the same id twice in one batch: judged against the first
            pending.append((i, item, digest))
            continue
        first_by_id[item.id] = (i, digest)
        rows.append(_row(item, principal, device_id, cipher, digest))
        pending.append((i, item, digest))

    inserted = await reports.insert_batch(session, rows, china_date_str(now), now, offset_ms)
    new_patrols = {it.id: it for _, it, _ in pending if it.kind == "patrol" and it.id in inserted}
    await patrols.tell_cases(session, list(new_patrols.values()), principal.subject, now)
    done_tasks = [it.task_id for i, it, _ in pending if it.kind == "followup" and it.id in inserted and it.task_id]
    await tasks.finish(session, done_tasks, principal.subject, now)
    others = [it.id for _, it, _ in pending if it.id not in inserted]
    stored = await reports.existing(session, others)
    shas = sorted({a.removeprefix("sha256:") for _, it, _ in pending for a in it.attachments})
    have = await attachments.stored_attachments(session, shas)
    seen_accepted: set[uuid.UUID] = set()
    for i, item, digest in pending:
        if item.id in inserted and item.id not in seen_accepted and first_by_id[item.id][0] == i:
            seen_accepted.add(item.id)
            missing = [a for a in item.attachments if a.removeprefix("sha256:") not in have]
            results[i] = PushResult(
                id=str(item.id), status="accepted", report_no=inserted[item.id], missing_attachments=missing or None
            )
            continue
        if item.id in inserted:  # repeated inside this batch
            same = first_by_id[item.id][1] == digest
            results[i] = (
                PushResult(id=str(item.id), status="duplicate", report_no=inserted[item.id])
                if same
                else PushResult(id=str(item.id), status="conflict", detail="同一编号在本批次中内容不同，未覆盖")
            )
            continue
        prior = stored.get(item.id)
        if prior is None:  # cannot happen: ON CONFLICT means a row exists
            raise ReportWriteRace()
        if prior.worker_id == principal.subject and bytes(prior.content_hash).hex() == digest:
            missing = [a for a in item.attachments if a.removeprefix("sha256:") not in have]
            results[i] = PushResult(
                id=str(item.id), status="duplicate", report_no=prior.report_no, missing_attachments=missing or None
            )
        else:
            results[i] = PushResult(id=str(item.id), status="conflict", detail="该编号已用于其他内容，未覆盖")
    return PushResponse(results=[r for r in results if r is not None], server_time=now, clock_offset_ms=offset_ms)


async def _followup_errors(
    session: AsyncSession, principal: Principal, followups: list[ReportItem]
) -> dict[uuid.UUID, dict[str, Any]]:
    """A revisit record (回访记录) must answer an open task of this worker, about the case it names; one
    already stored is judged as a retry (duplicate / conflict) instead, since storing it closed the task."""
    if not followups:
        return {}
    stored = await reports.existing(session, [it.id for it in followups])
    fresh = [it for it in followups if it.id not in stored]
    open_tasks = await tasks.open_cases(session, sorted({it.task_id for it in fresh if it.task_id}), principal.subject)
    errors: dict[uuid.UUID, dict[str, Any]] = {}
    for it in fresh:
        if it.task_id not in open_tasks:
            errors[it.id] = {
                "loc": ["task_id"],
                "msg": "不是本人待办的回访任务，或该任务已结束",
                "type": "task_not_open",
            }
        elif open_tasks[it.task_id] != it.case_id:
            errors[it.id] = {"loc": ["case_id"], "msg": "案件与回访任务不符", "type": "case_mismatch"}
    return errors


# --- pull -------------------------------------------------------------------------------------


def _hmac_key(secret: str) -> bytes:
    """The HMAC key of pull cursors, from PULL_CURSOR_KEY (a secret of its own, not the service token)."""
    return hashlib.sha256(b"intake-feed-cursor:" + secret.encode()).digest()


def encode_cursor(cursor_key: str, worker_id: str, seq: int) -> str:
    sig = hmac.new(_hmac_key(cursor_key), f"{worker_id}:{seq}".encode(), hashlib.sha256).digest()[:12]
    return f"{seq}.{base64.urlsafe_b64encode(sig).decode().rstrip('=')}"


def decode_cursor(cursor_key: str, worker_id: str, cursor: str) -> int | None:
    seq_s, _, _sig = cursor.partition(".")
    if not seq_s.isdigit() or len(seq_s) > 18:
        return None
    seq = int(seq_s)
    return seq if hmac.compare_digest(encode_cursor(cursor_key, worker_id, seq), cursor) else None


async def snapshot(db: Database, principal: Principal, cursor_key: str, days: int) -> PullResponse:
    """Everything the phone needs to start over: its recent reports, reference data, and a cursor."""
    now = clock.now()
    async with db.sessions() as session, session.begin():
        await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        head, _ = await feed.head(session, principal.subject)
        recent = await reports.recent_for_worker(session, principal.subject, now - timedelta(days=days))
        reference = await directory.reference_for(session, principal.areas)
        open_tasks = await tasks.open_for(session, principal.subject)
    changes = [Change(seq=head, type="reference", data=reference)]
    changes += [Change(seq=head, type="task", data=dict(t.data) | {"task_id": str(t.id)}) for t in open_tasks]
    for r in recent:
        changes.append(
            Change(
                seq=head,
                type="report.status",
                data={
                    "report_id": str(r.id),
                    "report_no": r.report_no,
                    "kind": r.kind,
                    "title": r.title,
                    "case_number": r.case_number,
                    "state": r.state,
                    "level": r.level,
                    "reply": r.reply,
                    "received_at": r.received_at.isoformat(),
                },
            )
        )
    return PullResponse(
        changes=changes,
        cursor=encode_cursor(cursor_key, principal.subject, head),
        has_more=False,
        server_time=now,
        snapshot=True,
    )


async def pull(
    db: Database,
    notifier: FeedNotifier | None,
    principal: Principal,
    cursor_key: str,
    cursor: str | None,
    limit: int,
    wait: float,
    snapshot_days: int,
) -> PullResponse:
    if principal.device_id:
        async with db.unit_of_work() as session:
            await devices.refuse_if_revoked(session, principal.device_id)
    if cursor is None:
        return await snapshot(db, principal, cursor_key, snapshot_days)
    after = decode_cursor(cursor_key, principal.subject, cursor)
    if after is None:
        raise CursorUnreadable()
    deadline = asyncio.get_running_loop().time() + wait
    while True:
        async with db.unit_of_work() as session:
            head, min_seq = await feed.head(session, principal.subject)
            if after > head or after < min_seq:
                raise CursorExpired()
            rows = await feed.since(session, principal.subject, after, limit + 1) if head > after else []
        remaining = deadline - asyncio.get_running_loop().time()
        if rows or remaining <= 0:
            break
        if notifier is not None:
            await notifier.wait(principal.subject, min(remaining, 1.0))
        else:
            await asyncio.sleep(min(remaining, 0.5))
    has_more = len(rows) > limit
    rows = rows[:limit]
    last = rows[-1].seq if rows else after
    return PullResponse(
        changes=[Change(seq=r.seq, type=r.type, data=r.data) for r in rows],
        cursor=encode_cursor(cursor_key, principal.subject, last),
        has_more=has_more,
        server_time=clock.now(),
    )
