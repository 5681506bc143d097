"""A department the org document retires (active: false) leaves cases' directory snapshot; notify then
treats it as retired: its system gets no more webhooks (skipped, 部门已撤销, never attempted), its staff
and head no more messages, and what was addressed to it as a unit goes to the centre instead."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import text

from services.notify.directory import repository as directory
from shared.clock import clock
from tests.cases.factories import import_org, make_case
from tests.cases.helpers import act
from tests.notify.factories import case_event, department
from tests.notify.fakes import Receiver, new_secret
from tests.notify.helpers import messages, run_worker, send

RETIRED = "部门已撤销"


async def department_active(system: Any, code: str) -> bool | None:
    async with system.services["notify"].app.state.db.unit_of_work() as s:
        return (await s.execute(text("SELECT active FROM notify.departments WHERE code = :c"), {"c": code})).scalar()


def whistle_event(case_id: str, code: str) -> dict[str, Any]:
    return case_event(
        "whistle.created",
        case_id,
        whistle_id=str(uuid.uuid4()),
        department=code,
        role="assist",
        reason="复查现场",
        acknowledge_due_at=clock.now().isoformat(),
    )


async def test_a_retired_department_gets_no_webhook_and_its_staff_no_message_until_it_comes_back(
    system, notify_app, admin
):
    code, staff = department(), f"rs{uuid.uuid4().hex[:8]}"
    async with Receiver() as receiver:
        dept = {
            "code": code,
            "name": "测试撤销所",
            "kind": "police",
            "area": "620602107",
            "head": staff,
            "webhook": {"url": receiver.url(), "secret": new_secret()},
        }
        user = {
            "username": staff,
            "name": "测试员",
            "role": "department_staff",
            "department": code,
            "areas": ["620602107"],
            "password": "demo-pass-1",
        }
        await import_org(system, {"departments": [dept], "users": [user]})
        assert await department_active(system, code) is True

        # whistled while live: its system and its staff are told (the webhook is not sent yet)
        case_id, _ = await make_case(system, flags=[], category="neighbour", people_involved=2)
        assert (await act(system, "d001", case_id, "grade")).status_code == 200
        resp = await act(
            system,
            "d001",
            case_id,
            "whistle",
            {"departments": [{"code": code, "role": "assist"}], "reason": "需到场核实"},
        )
        assert resp.status_code == 200, resp.text
        await system.drain()
        before = [
            (r.rule, r.channel, r.recipient, r.state)
            for r in await messages(system, case_id)
            if r.event_type == "whistle.created"
        ]
        assert ("whistle_created", "webhook", f"department:{code}", "pending") in before
        assert ("whistle_created", "inbox", f"user:{staff}", "delivered") in before

        # retired: the snapshot leaves it out and notify's copy says so
        await import_org(system, {"departments": [dept | {"active": False}]})
        assert await department_active(system, code) is False

        # the webhook queued before is skipped with the reason, never attempted; so is the whistle's
        # cancellation the retirement brings (cases cancels a retired department's open whistles)
        await run_worker(notify_app)
        queued = [
            r for r in await messages(system, case_id) if r.channel == "webhook" and r.recipient == f"department:{code}"
        ]
        assert sorted((r.event_type, r.state, r.last_error) for r in queued) == [
            ("whistle.cancelled", "skipped", RETIRED),
            ("whistle.created", "skipped", RETIRED),
        ]
        async with notify_app.state.db.unit_of_work() as s:
            attempts = (
                (await s.execute(text("SELECT attempts FROM notify.deliveries WHERE target = :c"), {"c": code}))
                .scalars()
                .all()
            )
        assert attempts == [0, 0]

        # a new whistle event to it: the webhook is recorded skipped, its staff hear nothing
        later = str(uuid.uuid4())
        await send(system, whistle_event(later, code))
        rows = [(r.channel, r.recipient, r.state, r.last_error) for r in await messages(system, later)]
        assert rows == [("webhook", f"department:{code}", "skipped", RETIRED)]
        # a supervision notice to it as a unit goes to the centre; its head (the staff member) is not told
        notice = case_event(
            "notice.issued",
            later,
            notice_kind="supervision",
            notice_id=str(uuid.uuid4()),
            number="大柳镇督〔2026〕9号",
            unit=code,
            department=code,
            subject="测试撤销所未按时报到",
            respond_by=clock.now().isoformat(),
        )
        await send(system, notice)
        told = {(r.channel, r.recipient) for r in await messages(system, later) if r.event_type == "notice.issued"}
        assert ("inbox", "user:d001") in told
        assert not {t for t in told if t[1] in (f"department:{code}", f"user:{staff}")}
        await run_worker(notify_app)
        assert receiver.received == []

        # an operator cannot set an endpoint for it either
        put = await system.http.put(
            f"{system.notify_url}/v1/endpoints/{code}", json={"url": receiver.url("/other")}, headers=admin
        )
        assert put.status_code == 404 and put.headers["content-type"].startswith("application/problem+json")

        # restored by the org document: its system hears of the next whistle again
        await import_org(system, {"departments": [dept]})
        assert await department_active(system, code) is True
        again = str(uuid.uuid4())
        await send(system, whistle_event(again, code))
        await run_worker(notify_app)
        await receiver.wait_for(1)
        assert [r.json()["data"]["case_id"] for r in receiver.received] == [again]


async def test_a_department_the_snapshot_marks_inactive_is_retired_and_one_it_lacks_too(system, notify_app):
    db = notify_app.state.db
    kept, marked, missing = department(), department(), department()
    async with db.unit_of_work() as s:
        live = [
            dict(r._mapping)
            for r in await s.execute(text("SELECT code, name, area_code, head FROM notify.departments WHERE active"))
        ]
        extra = [
            {"code": c, "name": "测试部门", "area_code": "620602107", "head": None} for c in (kept, marked, missing)
        ]
        await directory.replace(s, {"departments": live + extra}, clock.now())
    async with db.unit_of_work() as s:
        others = [d for d in live if not d["code"].startswith("T-")]
        await directory.replace(s, {"departments": [*others, extra[0], extra[1] | {"active": False}]}, clock.now())
        state = dict(
            (
                await s.execute(
                    text("SELECT code, active FROM notify.departments WHERE code = ANY(:c)"),
                    {"c": [kept, marked, missing]},
                )
            ).all()
        )
        demo = (
            await s.execute(
                text("SELECT bool_and(active) FROM notify.departments WHERE code = ANY(:c)"),
                {"c": [d["code"] for d in others]},
            )
        ).scalar()
    assert state == {kept: True, marked: False, missing: False}
    assert demo is True  # the departments the snapshot lists stay live
