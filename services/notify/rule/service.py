"""Events → notifications → deliveries. Runs inside the inbox transaction of the event, so an event
is turned into messages exactly once; the unique keys make a repeat a no-op all the same."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from services.notify.db import outbox
from services.notify.delivery import service as delivery_service
from services.notify.directory import service as directory
from services.notify.endpoint import service as endpoint_service
from services.notify.notification import service as notification_service
from services.notify.rule.engine import Rule, render
from services.notify.rule.recipients import Recipient, recipients
from shared.clock import CHINA_TZ, clock
from shared.contracts.events import DEVICE_MESSAGE
from shared.inbox import EventIn
from shared.outbox import Event, publish

NO_ENDPOINT = "部门未配置接收地址"
WEBHOOK_OMITS = ("area_path", "applicant")  # not for department systems (the applicant's phone stays here)
DEPARTMENT_RETIRED = directory.RETIRED
ENDPOINT_DISABLED = "部门接收地址已停用"
ROLE_ZH = {"lead": "牵头", "assist": "协办"}
TIER_ZH = {"village": "村级", "township": "镇级", "county": "县级"}
KIND_ZH = {
    "contact": "联系当事人",
    "major_report": "重大事项报告",
    "acknowledge": "报到",
    "resolve": "办结",
    "reply": "答复",
    "first_response": "首次回应",
    "update": "进展更新",
    "revisit": "回访",
    "notice_response": "督办答复",
}
STATE_ZH = {
    "received": "已受理",
    "graded": "已研判",
    "assigned": "已交办",
    "in_progress": "处置中",
    "suspended": "挂起",
    "returned": "退回",
    "resolved": "已办结",
    "replied": "已答复",
    "revisited": "已回访",
    "closed": "已销号",
    "merged": "已并案",
    "rejected": "不予受理",
}


def _local(iso: str | None) -> str:
    if not iso:
        return ""
    return datetime.fromisoformat(iso).astimezone(CHINA_TZ).strftime("%m月%d日%H:%M")


async def enrich(session: AsyncSession, data: dict[str, Any]) -> dict[str, Any]:
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


def _channel_fits(channel: str, r: Recipient) -> bool:
    return {
        "webhook": r.kind == "department",
        "inbox": r.kind == "user",
        "sms": r.kind in ("user", "applicant") and bool(r.phone_enc),
        "phone": r.kind == "worker",
    }[channel]


async def _webhook_refusals(session: AsyncSession, codes: set[str]) -> dict[str, str]:
    """Why a department's system cannot get a webhook now (retired, no endpoint, or one that is disabled)."""
    if not codes:
        return {}
    found = {e.department_code: e for e in await endpoint_service.endpoints_of(session, sorted(codes))}
    retired = await directory.retired_codes(session, sorted(codes))
    out: dict[str, str] = {}
    for code in codes:
        ep = found.get(code)
        if code in retired:
            out[code] = DEPARTMENT_RETIRED
        elif ep is None:
            out[code] = NO_ENDPOINT
        elif ep.state != "active":
            out[code] = f"{ENDPOINT_DISABLED}：{ep.disabled_reason or '未说明原因'}"
    return out


async def _plan(
    session: AsyncSession, rules: list[Rule], event: EventIn, data: dict[str, Any]
) -> list[tuple[Rule, Recipient, list[str]]]:
    """(rule, recipient, channels) for the event: one message per recipient and channel whatever the
    number of rules that reach them (the first matching rule in the file wins)."""
    plan: list[tuple[Rule, Recipient, list[str]]] = []
    taken: set[tuple[str, str]] = set()  # (channel, recipient key)
    for rule in rules:
        if not rule.matches(event.type, event.payload):
            continue
        for audience in rule.to:
            for r in await recipients(session, audience, data):
                channels: list[str] = [c for c in rule.channels if _channel_fits(c, r) and (c, r.key) not in taken]
                if channels:
                    taken.update((c, r.key) for c in channels)
                    plan.append((rule, r, channels))
    return plan


async def apply_rules(session: AsyncSession, rules: list[Rule], event: EventIn) -> int:
    """Make the notifications and deliveries an event calls for; returns deliveries made.

    Webhooks to a retired department or one without an (active) endpoint are recorded as `skipped` with the reason,
    not retried for a day. Phone messages are `handed_off` once they are in the outbox to intake (the
    phone fetches them from its feed; notify does not see that happen). In-app messages are
    `delivered`: the notification row is the message."""
    async with directory.remembered(session):
        planned = await _messages(session, rules, event)
    return await _write(session, [planned])


async def apply_rules_many(session: AsyncSession, rules: list[Rule], events: list[EventIn]) -> int:
    """`apply_rules` for many events at once: the rules evaluated over the batch (each question to the
    directory asked once), the notifications, deliveries and phone messages written in one statement each."""
    async with directory.remembered(session):
        planned = [await _messages(session, rules, event) for event in events]
    return await _write(session, planned)


_Messages = tuple[list[dict[str, Any]], list[dict[str, Any]], list[Event]]


async def _write(session: AsyncSession, planned: list[_Messages]) -> int:
    notifications = [n for p in planned for n in p[0]]
    if not notifications:
        return 0
    deliveries = [d for p in planned for d in p[1]]
    phone_events = [e for p in planned for e in p[2]]
    inserted = await notification_service.record(session, notifications)
    rows = [d for d in deliveries if d["notification_id"] in inserted]
    await delivery_service.record(session, rows)
    handed = {d["message_id"] for d in rows if d["channel"] == "phone"}
    await publish(session, outbox, [e for e in phone_events if e.payload["message_id"] in handed])
    return len(rows)


async def _messages(session: AsyncSession, rules: list[Rule], event: EventIn) -> _Messages:
    """The notifications, deliveries and phone messages an event calls for (nothing written yet)."""
    if not any(r.matches(event.type, event.payload) for r in rules):
        return [], [], []
    data = await enrich(session, event.payload)
    plan = await _plan(session, rules, event, data)
    refusals = await _webhook_refusals(session, {r.target for _, r, ch in plan if "webhook" in ch and r.target})
    now = clock.now()
    notifications: list[dict[str, Any]] = []
    deliveries: list[dict[str, Any]] = []
    phone_events: list[Event] = []
    for rule, r, channels in plan:
        title, body = render(rule.title, data), render(rule.text, data)
        nid = uuid.uuid4()
        notifications.append(
            {
                "id": nid,
                "event_id": event.id,
                "event_type": event.type,
                "rule": rule.id,
                "recipient": r.key,
                "title": title,
                "body": body,
                "case_id": data.get("case_id"),
                "major": "true" if rule.major else None,
                "now": now,
            }
        )
        for channel in channels:
            message_id = f"msg_{uuid.uuid4().hex}"
            payload: dict[str, Any]
            state, target, error = "pending", r.target, None
            if channel == "webhook":
                payload = {
                    "type": event.type,
                    "timestamp": event.occurred_at.isoformat(),
                    "data": {k: v for k, v in event.payload.items() if k not in WEBHOOK_OMITS}
                    | {"title": title, "text": body},
                }
                if (error := refusals.get(r.target or "")) is not None:
                    state = "skipped"
            elif channel == "sms":
                payload, target = {"text": f"【综治中心】{body}", "major": rule.major}, r.phone_enc
            elif channel == "phone":
                payload, state = {"title": title, "text": body}, "handed_off"
                phone_events.append(
                    Event(
                        type=DEVICE_MESSAGE,
                        aggregate_id=f"worker:{r.target}",
                        destinations=("intake",),
                        payload={
                            "worker_id": r.target,
                            "message_id": message_id,
                            "title": title,
                            "text": body,
                            "case_id": data.get("case_id"),
                            "case_number": data.get("case_number"),
                            "event_type": event.type,
                        },
                    )
                )
            else:  # inbox: the notification row is the message
                payload, state = {"title": title}, "delivered"
            deliveries.append(
                {
                    "id": uuid.uuid4(),
                    "notification_id": nid,
                    "channel": channel,
                    "recipient": r.key,
                    "target": target,
                    "message_id": message_id,
                    "payload": orjson.dumps(payload).decode(),
                    "state": state,
                    "last_error": error,
                    "next_attempt_at": now if state == "pending" else None,
                    "delivered_at": now if state == "delivered" else None,
                    "event_at": event.occurred_at,
                    "now": now,
                }
            )
    return notifications, deliveries, phone_events
