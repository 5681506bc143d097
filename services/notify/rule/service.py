"""Events → notifications → deliveries. Runs inside the inbox transaction of the event, so an event
is turned into messages exactly once; the unique keys make a repeat a no-op all the same."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import text

from services.notify.db import outbox
from services.notify.directory import repository as directory
from services.notify.rule.engine import Rule, render
from shared.clock import CHINA_TZ, clock
from shared.contracts.events import DEVICE_MESSAGE
from shared.inbox import EventIn
from shared.outbox import Event, publish

ROLE_ZH = {"lead": "牵头", "assist": "协办"}
TIER_ZH = {"village": "村级", "township": "镇级", "county": "县级"}
KIND_ZH = {"contact": "联系当事人", "major_report": "重大事项报告", "acknowledge": "报到", "resolve": "办结", "reply": "答复",
           "first_response": "首次回应", "update": "进展更新", "revisit": "回访"}
STATE_ZH = {"received": "已受理", "graded": "已研判", "assigned": "已交办", "in_progress": "处置中", "suspended": "挂起",
            "returned": "退回", "resolved": "已办结", "replied": "已答复", "revisited": "已回访", "closed": "已销号",
            "merged": "已并案", "rejected": "不予受理"}


@dataclass(frozen=True)
class Recipient:
    key: str  # department:<code> | user:<username> | worker:<user id>
    kind: str  # department | user | worker
    target: str | None  # department code, username or worker id
    phone_enc: str | None = None


def _local(iso: str | None) -> str:
    if not iso:
        return ""
    return datetime.fromisoformat(iso).astimezone(CHINA_TZ).strftime("%m月%d日%H:%M")


async def enrich(session: Any, data: dict[str, Any]) -> dict[str, Any]:
    out = dict(data)
    path = data.get("area_path") or []
    township = None
    for code in reversed(path):
        a = await directory.area(session, code)
        if a is not None and a.level in ("township", "county"):
            township = a
            break
    out["area_name"] = township.name if township else (data.get("area") or "")
    dept = await directory.department(session, data.get("department"))
    out["department_name"] = dept.name if dept else (data.get("department") or "")
    out["role_zh"] = ROLE_ZH.get(str(data.get("role")), "")
    out["due_local"] = _local(data.get("due_at"))
    out["respond_by_local"] = _local(data.get("respond_by"))
    out["deadline_zh"] = KIND_ZH.get(str(data.get("deadline_kind")), "")
    out["state_zh"] = STATE_ZH.get(str(data.get("to") or data.get("state")), "")
    out["to_tier_zh"] = TIER_ZH.get(str(data.get("to_tier")), "")
    return out


async def _department(session: Any, code: str | None) -> list[Recipient]:
    if not code:
        return []
    out = [Recipient(f"department:{code}", "department", code)]
    out += [Recipient(f"user:{u.username}", "user", u.username, u.phone_enc) for u in await directory.staff_of(session, code)]
    return out


def _users(rows: list[Any]) -> list[Recipient]:
    return [Recipient(f"user:{u.username}", "user", u.username, u.phone_enc) for u in rows]


async def _centre(session: Any, data: dict[str, Any]) -> list[Recipient]:
    """The dispatchers of the nearest centre above the case's area."""
    for code in reversed(data.get("area_path") or []):
        rows = await directory.dispatchers_of(session, code)
        if rows:
            return _users(rows)
    return []


async def recipients(session: Any, audience: str, data: dict[str, Any]) -> list[Recipient]:
    path = list(data.get("area_path") or [])
    if audience == "department":
        return await _department(session, data.get("department"))
    if audience == "department_head":
        dept = await directory.department(session, data.get("department"))
        return _users(await directory.by_username(session, dept.head)) if dept and dept.head else []
    if audience in ("unit", "responsible"):
        unit = data.get("unit") if audience == "unit" else data.get("responsible_unit")
        if unit and await directory.department(session, unit):
            return await _department(session, unit)
        if unit:
            rows = await directory.dispatchers_of(session, unit)
            if rows:
                return _users(rows)
        return await _centre(session, data)
    if audience == "centre":
        return await _centre(session, data)
    if audience == "area_leader":
        return _users(await directory.by_role_in_path(session, "leader", path))
    if audience == "county_leader":
        return _users(await directory.by_role_in_path(session, "leader", path, only=path[:1]))
    if audience == "reporter":
        worker = data.get("reporter_id") or data.get("worker_id")
        return [Recipient(f"worker:{worker}", "worker", str(worker))] if worker else []
    return []


def _channel_fits(channel: str, r: Recipient) -> bool:
    return {
        "webhook": r.kind == "department",
        "inbox": r.kind == "user",
        "sms": r.kind == "user" and bool(r.phone_enc),
        "phone": r.kind == "worker",
    }[channel]


async def apply_rules(session: Any, rules: list[Rule], event: EventIn) -> int:
    """Make the notifications and deliveries an event calls for; returns deliveries made."""
    matching = [r for r in rules if r.matches(event.type, event.payload)]
    if not matching:
        return 0
    data = await enrich(session, event.payload)
    now = clock.now()
    notifications: list[dict[str, Any]] = []
    deliveries: list[dict[str, Any]] = []
    phone_events: list[Event] = []
    seen: set[tuple[str, str]] = set()
    for rule in matching:
        title, body = render(rule.title, data), render(rule.text, data)
        for audience in rule.to:
            for r in await recipients(session, audience, data):
                if (rule.id, r.key) in seen:
                    continue
                seen.add((rule.id, r.key))
                channels = [c for c in rule.channels if _channel_fits(c, r)]
                if not channels:
                    continue
                nid = uuid.uuid4()
                notifications.append({
                    "id": nid, "event_id": event.id, "event_type": event.type, "rule": rule.id, "recipient": r.key,
                    "title": title, "body": body, "case_id": data.get("case_id"), "major": "true" if rule.major else None, "now": now,
                })
                for channel in channels:
                    message_id = f"msg_{uuid.uuid4().hex}"
                    payload: dict[str, Any]
                    state, target = "pending", r.target
                    if channel == "webhook":
                        payload = {"type": event.type, "timestamp": event.occurred_at.isoformat(), "data": {k: v for k, v in event.payload.items() if k != "area_path"} | {"title": title, "text": body}}
                    elif channel == "sms":
                        payload, target = {"text": f"【综治中心】{body}", "major": rule.major}, r.phone_enc
                    elif channel == "phone":
                        payload, state = {"title": title, "text": body}, "delivered"
                        phone_events.append(Event(type=DEVICE_MESSAGE, aggregate_id=f"worker:{r.target}", destinations=("intake",), payload={
                            "worker_id": r.target, "message_id": message_id, "title": title, "text": body,
                            "case_id": data.get("case_id"), "case_number": data.get("case_number"), "event_type": event.type}))
                    else:  # inbox: the notification row is the message
                        payload, state = {"title": title}, "delivered"
                    deliveries.append({
                        "id": uuid.uuid4(), "notification_id": nid, "channel": channel, "recipient": r.key, "target": target,
                        "message_id": message_id, "payload": orjson.dumps(payload).decode(), "state": state,
                        "next_attempt_at": now if state == "pending" else None, "delivered_at": now if state == "delivered" else None,
                        "event_at": event.occurred_at, "now": now,
                    })
    if not notifications:
        return 0
    inserted = {
        row.id for row in await session.execute(
            text(
                """INSERT INTO notify.notifications (id, event_id, event_type, rule, recipient, title, body, case_id, major, created_at)
                   SELECT * FROM unnest(CAST(:id AS uuid[]), CAST(:event_id AS uuid[]), CAST(:event_type AS text[]), CAST(:rule AS text[]),
                     CAST(:recipient AS text[]), CAST(:title AS text[]), CAST(:body AS text[]), CAST(:case_id AS text[]),
                     CAST(:major AS text[]), CAST(:now AS timestamptz[]))
                   ON CONFLICT ON CONSTRAINT uq_notifications_event_rule_recipient DO NOTHING RETURNING id"""
            ),
            {k: [n[k] for n in notifications] for k in ("id", "event_id", "event_type", "rule", "recipient", "title", "body", "case_id", "major", "now")},
        )
    }
    rows = [d for d in deliveries if d["notification_id"] in inserted]
    if rows:
        await session.execute(
            text(
                """INSERT INTO notify.deliveries (id, notification_id, channel, recipient, target, message_id, payload, state,
                     next_attempt_at, delivered_at, event_at, created_at)
                   VALUES (:id, :notification_id, :channel, :recipient, :target, :message_id, CAST(:payload AS jsonb), :state,
                     :next_attempt_at, :delivered_at, :event_at, :now)
                   ON CONFLICT ON CONSTRAINT uq_deliveries_notification_channel DO NOTHING"""
            ),
            rows,
        )
    await publish(session, outbox, [e for e in phone_events if any(d["message_id"] == e.payload["message_id"] and d["notification_id"] in inserted for d in deliveries)])
    return len(rows)
