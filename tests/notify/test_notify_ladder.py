"""The rules for the deadline ladder, notices, weekly updates, revisit tasks and the reporters' phones,
driven by the events cases sends (posted to notify's real events endpoint), against the demo directory:
PS-DL (大柳派出所, head s001, its system by webhook), d001 the dispatcher of 大柳镇, l001 the county leader."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import text

from services.notify.rule.engine import load_rules
from shared.clock import clock
from tests.notify.factories import add_department, case_event, put_endpoint
from tests.notify.fakes import Receiver, new_secret
from tests.notify.helpers import messages, notify_context, run_worker, send


def deadline_event(type_: str, case_id: str, kind: str, step: str, **fields: Any) -> dict[str, Any]:
    return case_event(
        type_,
        case_id,
        deadline_id=str(uuid.uuid4()),
        deadline_kind=kind,
        due_at=clock.now().isoformat(),
        step=step,
        fired_at=clock.now().isoformat(),
        **fields,
    )


def triples(rows: list[Any], event_type: str) -> list[tuple[str, str, str]]:
    return sorted((r.rule, r.channel, r.recipient) for r in rows if r.event_type == event_type)


async def test_acknowledge_ladder_warning_then_breach_then_notice_to_the_department_and_its_head(system, notify_app):
    case_id = str(uuid.uuid4())
    ack = {"department": "PS-DL", "whistle_id": str(uuid.uuid4())}
    await send(system, deadline_event("deadline.warning", case_id, "acknowledge", "warning", fraction=0.5, **ack))
    rows = await messages(system, case_id)
    assert triples(rows, "deadline.warning") == [
        ("acknowledge_warning", "inbox", "user:s001"),
        ("acknowledge_warning", "webhook", "department:PS-DL"),
    ]
    assert all("将于" in r.body for r in rows)

    # the sweep fires the breach and the +0 remind together: one breach message and one remind per channel
    await send(
        system,
        deadline_event("deadline.breached", case_id, "acknowledge", "breach", **ack),
        deadline_event("deadline.reminded", case_id, "acknowledge", "remind", **ack),
    )
    rows = await messages(system, case_id)
    breach = triples(rows, "deadline.breached")
    assert ("acknowledge_breach_department", "webhook", "department:PS-DL") in breach
    assert ("acknowledge_breach_department", "inbox", "user:s001") in breach
    assert len({(c, r) for _, c, r in breach}) == len(breach)  # nobody twice on one channel for the breach
    assert ("inbox", "user:d001") in {(c, r) for _, c, r in breach}  # the centre (responsible unit) hears of it
    assert triples(rows, "deadline.reminded") == [
        ("acknowledge_remind_department", "inbox", "user:s001"),
        ("acknowledge_remind_department", "webhook", "department:PS-DL"),
    ]
    assert not [r for r in rows if r.rule == "acknowledge_breach_head"]  # the head is not told before the notice

    await send(
        system,
        deadline_event(
            "notice.issued",
            case_id,
            "acknowledge",
            "notice",
            notice_kind="supervision",
            notice_id=str(uuid.uuid4()),
            number="大柳镇督〔2026〕7号",
            unit="PS-DL",
            subject="大柳派出所未按时报到",
            respond_by=clock.now().isoformat(),
            **ack,
        ),
    )
    rows = await messages(system, case_id)
    notice = triples(rows, "notice.issued")
    assert ("acknowledge_breach_head", "inbox", "user:s001") in notice  # the head, once, with the head's text
    assert ("supervision_notice", "webhook", "department:PS-DL") in notice
    assert ("supervision_notice", "inbox", "user:l001") in notice and (
        "supervision_notice",
        "sms",
        "user:l001",
    ) in notice
    assert len({(c, r) for _, c, r in notice}) == len(notice)
    head = next(r for r in rows if r.rule == "acknowledge_breach_head")
    assert "大柳派出所未按时报到" in head.body and "大柳镇督〔2026〕7号" in head.body


async def test_supervision_notice_for_a_centre_unit_reaches_its_dispatchers_and_the_leaders(system, notify_app):
    case_id = str(uuid.uuid4())
    await send(
        system,
        deadline_event(
            "notice.issued",
            case_id,
            "resolve",
            "notice",
            notice_kind="supervision",
            notice_id=str(uuid.uuid4()),
            number="大柳镇督〔2026〕8号",
            unit="620602107",
            subject="案件办理超期",
            respond_by=clock.now().isoformat(),
        ),
    )
    rows = await messages(system, case_id)
    assert {(r.channel, r.recipient) for r in rows} >= {
        ("inbox", "user:d001"),
        ("sms", "user:d001"),
        ("inbox", "user:l001"),
        ("sms", "user:l001"),
    }
    assert all(r.rule == "supervision_notice" for r in rows)
    assert all("大柳镇督〔2026〕8号" in r.title for r in rows)


async def test_every_deadline_kind_warns_and_reminds_the_responsible_unit(system, notify_app):
    for kind in ("contact", "resolve", "reply", "first_response", "revisit", "major_report"):
        case_id = str(uuid.uuid4())
        await send(
            system,
            deadline_event("deadline.warning", case_id, kind, "warning", fraction=0.8),
            deadline_event("deadline.reminded", case_id, kind, "remind"),
        )
        rows = await messages(system, case_id)
        assert triples(rows, "deadline.warning") == [("deadline_warning_responsible", "inbox", "user:d001")], kind
        assert triples(rows, "deadline.reminded") == [("deadline_remind_responsible", "inbox", "user:d001")], kind
    case_id = str(uuid.uuid4())  # a department's resolve deadline: its system and staff too
    await send(system, deadline_event("deadline.reminded", case_id, "resolve", "remind", department="PS-DL"))
    assert {(r.channel, r.recipient) for r in await messages(system, case_id)} == {
        ("webhook", "department:PS-DL"),
        ("inbox", "user:s001"),
        ("inbox", "user:d001"),
    }


async def test_weekly_update_reminder_goes_to_the_responsible_person_in_app_and_by_sms(system, notify_app):
    case_id = str(uuid.uuid4())
    await send(system, deadline_event("deadline.warning", case_id, "update", "warning", responsible_person="d001"))
    rows = await messages(system, case_id)
    assert [(r.rule, r.channel, r.recipient) for r in rows] == [
        ("weekly_update_due", "inbox", "user:d001"),
        ("weekly_update_due", "sms", "user:d001"),
    ]
    assert "本周进展尚未更新" in rows[0].body

    nobody = str(uuid.uuid4())  # no responsible person named: the responsible unit, in-app only
    await send(system, deadline_event("deadline.warning", nobody, "update", "warning", responsible_person=None))
    assert [(r.channel, r.recipient) for r in await messages(system, nobody)] == [("inbox", "user:d001")]


async def test_revisit_task_goes_to_the_named_worker_s_phone_only(system, notify_app):
    w001 = await user_id(system, "w001")
    w002 = await user_id(system, "w002")
    case_id = str(uuid.uuid4())
    task = {
        "id": str(uuid.uuid4()),
        "type": "task.assigned",
        "aggregate_id": case_id,
        "occurred_at": clock.now().isoformat(),
        "payload": {
            "task_id": str(uuid.uuid4()),
            "worker_id": w001,
            "kind": "revisit",
            "case_id": case_id,
            "case_number": "DL-R1",
            "title": "回访：邻里纠纷",
            "reply": "已调解",
            "reporters": ["w001", "w002"],
        },
    }
    await send(system, task)
    rows = await messages(system, case_id)
    assert [(r.rule, r.channel, r.recipient, r.state) for r in rows] == [
        ("revisit_task", "phone", f"worker:{w001}", "handed_off")
    ]
    assert f"worker:{w002}" not in {r.recipient for r in rows}


async def test_every_reporting_worker_hears_of_state_changes_and_removed_ones_do_not(system, notify_app):
    w001, w002 = await user_id(system, "w001"), await user_id(system, "w002")
    for type_ in ("case.assign", "case.suspend", "case.resume", "case.merge", "case.revisit", "case.close"):
        case_id = str(uuid.uuid4())
        await send(system, case_event(type_, case_id, reporter_id=w001, reporters=["w001", "w002"]))
        rows = await messages(system, case_id)
        assert sorted(r.recipient for r in rows) == sorted([f"worker:{w001}", f"worker:{w002}"]), type_
        assert {(r.channel, r.state) for r in rows} == {("phone", "handed_off")}
    older = str(uuid.uuid4())  # an event without `reporters`: reporter_id
    await send(system, case_event("case.close", older, reporter_id=w001))
    assert [r.recipient for r in await messages(system, older)] == [f"worker:{w001}"]


async def test_a_department_without_an_endpoint_gets_a_skipped_webhook_visible_to_operators(system, notify_app, admin):
    code = await add_department(notify_app.state.db, f"T-{uuid.uuid4().hex[:10]}", name="测试局")
    case_id = str(uuid.uuid4())
    await send(system, case_event("whistle.created", case_id, department=code, role="lead", reason="需要协助"))
    hooks = [r for r in await messages(system, case_id) if r.channel == "webhook"]
    assert [(h.state, h.last_error) for h in hooks] == [("skipped", "部门未配置接收地址")]
    await run_worker(notify_app)  # nothing for the worker: it is not retried for a day
    assert [r.state for r in await messages(system, case_id) if r.channel == "webhook"] == ["skipped"]
    listed = await system.http.get(
        f"{system.notify_url}/v1/deliveries",
        params={"status": "skipped", "channel": "webhook", "limit": 500},
        headers=admin,
    )
    assert listed.status_code == 200
    assert any(i["target"] == code and i["last_error"] == "部门未配置接收地址" for i in listed.json()["items"])

    async with Receiver() as receiver:  # the operator sets it up and replays what was skipped
        assert (await put_endpoint(system, admin, code, receiver.url(), new_secret())).status_code == 200
        resp = await system.http.post(
            f"{system.notify_url}/v1/deliveries/retry", json={"status": ["skipped"], "department": code}, headers=admin
        )
        assert resp.status_code == 200 and resp.json() == {"requeued": 1}
        await run_worker(notify_app)
        assert [r.json()["data"]["case_id"] for r in receiver.received] == [case_id]


async def test_rules_naming_an_unknown_event_are_refused_at_load_naming_the_rule(tmp_path):
    path = tmp_path / "rules.yaml"
    path.write_text(
        "rules:\n  - {id: typo_rule, events: [deadline.breach], to: [centre], channels: [inbox], title: t, text: x}\n",
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match=r"typo_rule.*deadline\.breach"):
        load_rules(str(path))
    assert {r.id for r in load_rules()} >= {"weekly_update_due", "daily_digest", "deadline_remind_responsible"}


async def user_id(system, username: str) -> str:
    async with system.services["notify"].app.state.db.unit_of_work() as s:
        return (await s.execute(text("SELECT user_id FROM notify.users WHERE username = :u"), {"u": username})).scalar()


async def directory_snapshot(system, extra: list[dict[str, Any]]) -> dict[str, Any]:
    """A directory.changed event with the users notify knows now (active ones) plus `extra`."""
    async with system.services["notify"].app.state.db.unit_of_work() as s:
        users = [
            dict(r._mapping) | {"areas": list(r.areas)}
            for r in await s.execute(
                text(
                    "SELECT user_id, username, name, role, department_code, areas, phone_enc FROM notify.users"
                    " WHERE active AND username NOT LIKE 't-%'"
                )
            )
        ]
    return {
        "id": str(uuid.uuid4()),
        "type": "directory.changed",
        "aggregate_id": "directory",
        "occurred_at": clock.now().isoformat(),
        "payload": {"users": users + extra},
    }


async def test_a_user_removed_from_the_directory_gets_no_more_sms_or_inbox_messages(system, notify_app):
    cipher = notify_context(notify_app).cipher
    leader = {
        "user_id": str(uuid.uuid4()),
        "username": f"t-{uuid.uuid4().hex[:8]}",
        "name": "测试领导",
        "role": "leader",
        "department_code": None,
        "areas": ["620602"],
        "phone_enc": cipher.encrypt("13900009999"),
    }
    await send(system, await directory_snapshot(system, [leader]))
    before = str(uuid.uuid4())
    await send(system, case_event("case.major", before, level="major"))
    assert {(r.channel, r.recipient) for r in await messages(system, before)} >= {
        ("inbox", f"user:{leader['username']}"),
        ("sms", f"user:{leader['username']}"),
    }

    await send(system, await directory_snapshot(system, []))  # the next snapshot no longer lists the leader
    after = str(uuid.uuid4())
    await send(system, case_event("case.major", after, level="major"))
    told = {r.recipient for r in await messages(system, after)}
    assert f"user:{leader['username']}" not in told and "user:l001" in told
    async with notify_app.state.db.unit_of_work() as s:
        active = (
            await s.execute(text("SELECT active FROM notify.users WHERE user_id = :i"), {"i": leader["user_id"]})
        ).scalar()
    assert active is False


async def test_a_major_case_sms_goes_from_the_event_to_the_sms_gateway(system, notify_app):
    case_id = str(uuid.uuid4())
    await send(system, case_event("case.major", case_id, level="major", case_number="DL-MAJOR-" + case_id[:4]))
    async with Receiver() as gateway:  # the generic gateway adapter's {to, text} JSON, over real HTTP
        await run_worker(
            notify_app, sms_gateway_url=gateway.url("/sms"), sms_quiet_hours="00:00-23:59", sms_daily_cap=1
        )
        got = [r.json() for r in gateway.received if "DL-MAJOR-" + case_id[:4] in r.json()["text"]]
    # d001 (the centre), l001 (the county leader) and dc001 (the county centre's dispatcher)
    assert sorted(m["to"] for m in got) == ["13800000011", "13800000021", "13800000031"]
    assert all(m["text"].startswith("【综治中心】【十分钟报告】") for m in got)
    assert {(r.recipient, r.state) for r in await messages(system, case_id) if r.channel == "sms"} == {
        ("user:d001", "delivered"),
        ("user:l001", "delivered"),
        ("user:dc001", "delivered"),
    }
