"""The rules applied over a batch of events (`apply_rules_many`, the set-based path) make exactly the
notifications, deliveries and phone messages the same events make one by one (`apply_rules`)."""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.notify.rule.engine import load_rules
from services.notify.rule.service import apply_rules, apply_rules_many
from shared.inbox import EventIn
from tests.notify.factories import DEMO_USERS, case_event, directory

WORKER = {"user_id": "t-worker-w001", "username": "w001", "name": "张三", "role": "grid_worker", "areas": []}


def _events() -> list[EventIn]:
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    raw = [
        case_event("case.received", a, state="received", reporters=["w001"]),
        case_event("case.major", a, state="received", level="major", reporters=["w001"]),
        case_event("case.received", b, state="received", responsible_person="d001"),
        case_event("case.assign", b, state="assigned", responsible_person="d001", reporters=["w001"]),
        case_event("case.close", str(uuid.uuid4()), state="closed", reporters=["w001", "nobody"]),
    ]
    return [EventIn.model_validate(e) for e in raw]


async def _made(session: AsyncSession, events: list[EventIn]) -> str:
    ids = [e.id for e in events]

    async def q(sql: str) -> list[dict[str, Any]]:
        return [dict(r._mapping) for r in await session.execute(text(sql), {"ids": ids})]

    made = {
        "notifications": await q(
            "SELECT event_id, event_type, rule, recipient, title, body, case_id, major FROM notify.notifications"
            " WHERE event_id = ANY(:ids) ORDER BY event_id, rule, recipient"
        ),
        "deliveries": await q(
            "SELECT n.event_id, d.channel, d.recipient, d.target, d.payload, d.state, d.last_error"
            " FROM notify.deliveries d JOIN notify.notifications n ON n.id = d.notification_id"
            " WHERE n.event_id = ANY(:ids) ORDER BY n.event_id, d.channel, d.recipient"
        ),
        "phone": await q(
            "SELECT aggregate_id, payload - 'message_id' AS payload FROM notify.outbox"
            " WHERE payload->>'event_type' IS NOT NULL AND (payload->>'case_id') IN"
            " (SELECT case_id FROM notify.notifications WHERE event_id = ANY(:ids)) ORDER BY id"
        ),
    }
    return json.dumps(made, default=str, ensure_ascii=False, sort_keys=True)


async def test_rules_over_a_batch_make_what_they_make_one_by_one(db_session: AsyncSession) -> None:
    await directory(db_session, [*DEMO_USERS, WORKER])
    rules = load_rules(None)
    events = _events()

    one_by_one = await db_session.begin_nested()
    n_one = sum([await apply_rules(db_session, rules, e) for e in events])
    expected = await _made(db_session, events)
    await one_by_one.rollback()

    together = await db_session.begin_nested()
    n_many = await apply_rules_many(db_session, rules, events)
    got = await _made(db_session, events)
    await together.rollback()

    assert n_one == n_many > 0
    assert '"channel": "phone"' in expected and '"channel": "inbox"' in expected
    assert json.loads(got) == json.loads(expected)


async def test_directory_answers_are_kept_for_one_version_and_a_document_drops_them(database_url):
    """A notify process keeps its answers to directory questions between batches while the directory's version
    is the same; applying a document raises the version (also for other processes) and the answers go; a
    transaction that applies a document keeps its answers to itself."""
    from services.notify.directory import repository as directory_repo
    from services.notify.directory import service as directory_service
    from shared.db import Database

    code = f"T{uuid.uuid4().hex[:8]}"

    def document(name: str) -> dict[str, Any]:
        return {"areas": [{"code": code, "name": name, "level": "township", "path": ["620602", code]}]}

    async def name_seen(s: AsyncSession) -> str:
        async with directory_service.remembered(s):
            return str((await directory_service.area(s, code)).name)

    db = Database(database_url, 2)
    try:
        async with db.unit_of_work() as s:
            await directory_service.apply_document(s, document("一镇"))
        async with db.unit_of_work() as s:
            assert await name_seen(s) == "一镇"
            # changed behind the directory's back (no document): the next batch is still answered from memory
            await s.execute(text("UPDATE notify.areas SET name = '改名镇' WHERE code = :c"), {"c": code})
        async with db.unit_of_work() as s:
            assert await name_seen(s) == "一镇"
        async with db.unit_of_work() as s:
            version = await directory_repo.version(s)
            await directory_service.apply_document(s, document("二镇"))
            assert await directory_repo.version(s) == version + 1
            assert await name_seen(s) == "二镇"  # its own, uncommitted document: answers kept to this transaction
        async with db.unit_of_work() as s:
            assert await name_seen(s) == "二镇"  # a new version: read afresh
        async with db.unit_of_work() as s:
            await directory_service.apply_document(s, document("三镇"))
            await s.rollback()
        async with db.unit_of_work() as s:
            assert await name_seen(s) == "二镇"  # a document rolled back left nothing behind in memory
    finally:
        async with db.unit_of_work() as s:
            await s.execute(text("DELETE FROM notify.areas WHERE code = :c"), {"c": code})
            await s.execute(text("UPDATE notify.directory_version SET version = version + 1"))
        await db.dispose()
