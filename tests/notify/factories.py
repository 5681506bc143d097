"""Small factories for notify's tests: events from cases, a department of their own (known to notify's
directory copy), its endpoint set as an operator would, a delivery row in any state, the clean-up of what
they made, and — in a rolled-back `db_session` — notify's directory copy. Their SQL lives here and nowhere
else in notify's tests."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.notify.directory import repository as directory_repository
from shared.clock import clock


def department() -> str:
    """A department code of its own for each test (rows of other tests are left alone)."""
    return f"T-{uuid.uuid4().hex[:10]}"


# The grid of the demo org's w001, and its area path up to the county.
PATH = ["620602", "620602107", "620602107201", "620602107201-01"]


def case_event(type_: str, case_id: str, **fields: Any) -> dict[str, Any]:
    """An event of the cases service about a case, as notify receives it (`fields` go into the payload)."""
    payload = {
        "case_id": case_id,
        "case_number": f"DL-{case_id[:6]}",
        "state": "in_progress",
        "kind": "dispute",
        "category": "neighbour",
        "title": "邻里排水纠纷",
        "area": PATH[-1],
        "area_path": PATH,
        "tier": "township",
        "level": "general",
        "responsible_unit": "620602107",
        "reporter_id": None,
    } | fields
    return {
        "id": str(uuid.uuid4()),
        "type": type_,
        "aggregate_id": case_id,
        "occurred_at": clock.now().isoformat(),
        "payload": payload,
    }


def webhook_payload(n: int = 0) -> dict[str, Any]:
    return {
        "type": "whistle.created",
        "timestamp": clock.now().isoformat(),
        "data": {"whistle_id": str(uuid.uuid4()), "seq": n, "title": "吹哨：邻里纠纷升级", "text": "请派员到场"},
    }


async def insert_delivery(
    db: Any,
    *,
    target: str | None,
    channel: str = "webhook",
    payload: dict[str, Any] | None = None,
    state: str = "pending",
    attempts: int = 0,
    next_attempt_at: datetime | None = None,
    created_at: datetime | None = None,
    delivered_at: datetime | None = None,
    recipient: str | None = None,
    last_error: str | None = None,
) -> dict[str, Any]:
    """One delivery row as the rules would have written it, in `state` (a delivered one was delivered
    at `delivered_at`, by default now)."""
    now = clock.now()
    row = {
        "id": uuid.uuid4(),
        "notification_id": uuid.uuid4(),
        "channel": channel,
        "recipient": recipient or (f"department:{target}" if channel == "webhook" else "test:sms"),
        "target": target,
        "message_id": f"msg_{uuid.uuid4().hex}",
        "payload": orjson.dumps(payload if payload is not None else webhook_payload()).decode(),
        "state": state,
        "attempts": attempts,
        "next_attempt_at": next_attempt_at
        if next_attempt_at is not None
        else (now if state in ("pending", "failed") else None),
        "created_at": created_at or now,
        "delivered_at": (delivered_at or now) if state == "delivered" else None,
        "event_at": now,
        "last_error": last_error,
    }
    async with db.unit_of_work() as session:
        await session.execute(
            text(
                """INSERT INTO notify.deliveries (id, notification_id, channel, recipient, target, message_id,
                     payload, state, attempts, next_attempt_at, created_at, delivered_at, event_at, last_error)
                   VALUES (:id, :notification_id, :channel, :recipient, :target, :message_id,
                     CAST(:payload AS jsonb), :state, :attempts, :next_attempt_at, :created_at, :delivered_at,
                     :event_at, :last_error)"""
            ),
            row,
        )
    return row


DEMO_USERS = [  # as cases' directory event carries them: the centre's dispatcher and the county leader
    {"user_id": "t-user-d001", "username": "d001", "name": "李四", "role": "dispatcher", "areas": ["620602107"]},
    {"user_id": "t-user-l001", "username": "l001", "name": "吴九", "role": "leader", "areas": ["620602"]},
]


async def directory(session: AsyncSession, users: list[dict[str, Any]] | None = None) -> None:
    """Notify's copy of the org directory inside `session` (a rolled-back `db_session`): the county, the
    township of the demo org and `users` (the whole user directory from then on: others are inactive)."""
    areas = [
        {"code": "620602", "name": "凉州区", "level": "county", "path": ["620602"]},
        {"code": "620602107", "name": "大柳镇", "level": "township", "path": ["620602", "620602107"]},
    ]
    await directory_repository.replace(session, {"areas": areas, "users": users or DEMO_USERS}, clock.now())


async def add_department(db: Any, code: str, name: str = "测试部门", head: str | None = None) -> str:
    """Put a department into notify's directory copy (an endpoint can only be set for a known one)."""
    async with db.unit_of_work() as session:
        await session.execute(
            text(
                """INSERT INTO notify.departments (code, name, area_code, head, updated_at)
                   VALUES (:c, :n, '620602107', :h, now())
                   ON CONFLICT (code) DO NOTHING"""
            ),
            {"c": code, "n": name, "h": head},
        )
        # a write to the directory copy raises its version, as a document does (notify keeps answers per version)
        await session.execute(text("UPDATE notify.directory_version SET version = version + 1"))
    return code


async def put_endpoint(system: Any, admin: dict[str, str], code: str, url: str, secret: str | None) -> Any:
    """PUT /v1/endpoints/{code} for a test department (made known to notify's directory first)."""
    if code.startswith("T-"):
        await add_department(system.services["notify"].app.state.db, code)
    body: dict[str, Any] = {"url": url}
    if secret is not None:
        body["secret"] = secret
    return await system.http.put(f"{system.notify_url}/v1/endpoints/{code}", json=body, headers=admin)


async def cleanup(db: Any) -> None:
    """Drop the departments, deliveries and endpoints the factories made."""
    async with db.unit_of_work() as session:
        await session.execute(text("DELETE FROM notify.departments WHERE code LIKE 'T-%'"))
        await session.execute(text("UPDATE notify.directory_version SET version = version + 1"))
        await session.execute(text("DELETE FROM notify.deliveries WHERE target LIKE 'T-%' OR recipient LIKE 'test:%'"))
        await session.execute(text("DELETE FROM notify.endpoints WHERE department_code LIKE 'T-%'"))
