"""Rules turn cases' events into messages: a department's whistle, a major case for the county leader,
the grid worker's phone, the daily digest — each once."""

from __future__ import annotations

import uuid

from sqlalchemy import text

from services.notify.context import NotifyContext
from services.notify.digest.jobs import send_daily_digest
from services.notify.digest.service import digest_event
from services.notify.rule.engine import load_rules
from services.notify.rule.service import apply_rules
from shared.clock import CHINA_TZ, clock
from shared.context import context_of
from tests.cases.factories import make_case
from tests.cases.helpers import act, dept_token, manual_clock, run_sweep
from tests.notify.factories import directory


async def notify_db(system):
    return system.services["notify"].app.state.db


async def inbox(system, user):
    resp = await system.http.get(
        f"{system.notify_url}/v1/notifications", params={"limit": 500}, headers=await system.auth(user)
    )
    assert resp.status_code == 200, resp.text
    return resp.json()


async def test_whistle_reaches_department_system_and_staff_once(system):
    case_id, _ = await make_case(system, flags=[], category="neighbour", people_involved=2)
    await act(system, "d001", case_id, "grade")
    await act(
        system,
        "d001",
        case_id,
        "whistle",
        {"departments": [{"code": "PS-DL", "role": "lead"}], "reason": "邻里纠纷需派出所调处"},
    )
    await system.drain()
    await system.drain()
    async with (await notify_db(system)).unit_of_work() as s:
        rows = (
            await s.execute(
                text(
                    """SELECT d.channel, d.recipient, d.state, d.payload
               FROM notify.deliveries d JOIN notify.notifications n ON n.id = d.notification_id
               WHERE n.case_id = :c AND n.rule = 'whistle_created'"""
                ),
                {"c": case_id},
            )
        ).all()
    channels = sorted((r.channel, r.recipient) for r in rows)
    assert ("webhook", "department:PS-DL") in channels and ("inbox", "user:s001") in channels
    assert len(channels) == len(set(channels))
    hook = next(r for r in rows if r.channel == "webhook")
    assert hook.payload["type"] == "whistle.created" and hook.payload["data"]["case_id"] == case_id
    staff = await inbox(system, "s001")
    mine = [n for n in staff["items"] if n["case_id"] == case_id]
    assert len(mine) == 1 and "吹哨" in mine[0]["title"] and "大柳派出所" in mine[0]["body"]
    r = await system.http.post(
        f"{system.notify_url}/v1/notifications/{mine[0]['id']}/read", headers=await system.auth("s001")
    )
    assert r.status_code == 200 and r.json()["status"] == "read"
    assert (
        await system.http.post(
            f"{system.notify_url}/v1/notifications/{mine[0]['id']}/read", headers=await system.auth("d001")
        )
    ).status_code == 404


async def test_major_case_tells_the_county_leader_in_app_and_by_sms_at_once(system):
    case_id, _ = await make_case(system, flags=["violence_threat"])
    await system.drain()
    await system.drain()
    async with (await notify_db(system)).unit_of_work() as s:
        titles = [
            r.title
            for r in await s.execute(
                text(
                    "SELECT title FROM notify.notifications"
                    " WHERE case_id = :c AND recipient = 'user:l001' AND rule = 'major_case'"
                ),
                {"c": case_id},
            )
        ]
    assert len(titles) == 1 and "重大" in titles[0]
    async with (await notify_db(system)).unit_of_work() as s:
        sms = (
            await s.execute(
                text(
                    """SELECT d.payload FROM notify.deliveries d JOIN notify.notifications n ON n.id = d.notification_id
               WHERE n.case_id = :c AND d.channel = 'sms' AND d.recipient = 'user:l001'"""
                ),
                {"c": case_id},
            )
        ).all()
    assert len(sms) == 1 and sms[0].payload["major"] is True and "十分钟报告" in sms[0].payload["text"]


async def test_reporting_worker_hears_of_reply_on_the_phone(system):
    snap = (
        await system.http.get(f"{system.intake_url}/v1/sync/pull", headers=await system.auth("w001", "dev-w001"))
    ).json()
    case_id, _ = await make_case(system, flags=[], people_involved=2, category="debt")
    for action, body in (
        ("grade", {}),
        ("assign", {"unit": "620602107201"}),
        ("update", {"note": "调解中"}),
        ("resolve", {"outcome": "mediated"}),
        ("reply", {"text": "债务已按协议分期归还"}),
    ):
        assert (await act(system, "d001", case_id, action, body)).status_code == 200
    for _ in range(3):
        await system.drain()
    feed = (
        await system.http.get(
            f"{system.intake_url}/v1/sync/pull",
            params={"cursor": snap["cursor"], "limit": 500},
            headers=await system.auth("w001", "dev-w001"),
        )
    ).json()
    messages = [c["data"] for c in feed["changes"] if c["type"] == "message" and c["data"].get("case_id") == case_id]
    assert any("债务已按协议分期归还" in m["text"] for m in messages)
    assert len({m["message_id"] for m in messages}) == len(messages)


async def test_daily_digest_once_per_day_to_the_centre(system):
    await make_case(system, flags=[], category="other")
    app = system.services["notify"].app
    digest = (
        await system.http.get(
            f"{system.cases_url}/internal/v1/digest", headers={"Authorization": "Bearer test-notify-token"}
        )
    ).json()
    assert any(c["area"] == "620602107" and (c["overdue"] or c["due_today"]) for c in digest["centres"]), digest
    first = await send_daily_digest(context_of(app, NotifyContext), force=True)
    again = await send_daily_digest(context_of(app, NotifyContext), force=True)
    assert first >= 1 and again == 0
    async with app.state.db.unit_of_work() as s:
        digests = (
            await s.execute(
                text(
                    "SELECT count(*) FROM notify.notifications"
                    " WHERE recipient = 'user:d001' AND event_type = 'digest.daily'"
                )
            )
        ).scalar()
    assert digests == 1
    unread = await system.http.get(
        f"{system.notify_url}/v1/notifications", params={"status": "unread"}, headers=await system.auth("d001")
    )
    assert unread.status_code == 200 and unread.json()["unread"] >= 1
    async with app.state.db.unit_of_work() as s:
        runs = (
            await s.execute(
                text("SELECT count(*) FROM notify.job_runs WHERE job = 'digest' AND period = :p"),
                {"p": clock.now().astimezone(CHINA_TZ).date().isoformat()},
            )
        ).scalar()
        mine = (
            await s.execute(
                text(
                    """SELECT n.rule, n.title, n.body, d.channel, d.state
               FROM notify.notifications n JOIN notify.deliveries d ON d.notification_id = n.id
               WHERE n.recipient = 'user:d001' AND n.event_type = 'digest.daily'"""
                )
            )
        ).all()
    assert runs == 1  # the day is claimed once
    centre = next(c for c in digest["centres"] if c["area"] == "620602107")
    assert (
        len(centre["overdue_cases"]) == min(centre["overdue_case_count"], 50)
        and centre["overdue_case_count"] <= centre["overdue"]
    )
    assert [(m.rule, m.channel, m.state) for m in mine] == [("daily_digest", "inbox", "delivered")]
    assert mine[0].title.startswith("每日提醒 ") and "大柳镇综治中心" in mine[0].body
    assert f"超期未办 {centre['overdue']} 项" in mine[0].body and f"今日到期 {centre['due_today']} 项" in mine[0].body


async def test_the_digest_follows_the_rules_file_and_lists_overdue_case_numbers(db_session, tmp_path):
    path = tmp_path / "rules.yaml"
    path.write_text(
        "rules:\n  - {id: digest_to_leaders, events: [digest.daily], to: [centre, county_leader], channels: [inbox],"
        " title: '晨报 {period}', text: '{centre_name}：{overdue_list}'}\n",
        encoding="utf-8",
    )
    rules = load_rules(str(path))
    period = "2099-01-0" + str(uuid.uuid4().int % 9 + 1) + "-" + uuid.uuid4().hex[:6]  # a day of this test's own
    centre = {
        "area": "620602107",
        "name": "大柳镇",
        "overdue": 2,
        "due_today": 0,
        "overdue_cases": [{"case_number": "DL-2099-001"}, "DL-2099-002"],
    }
    await directory(db_session)
    made = await apply_rules(db_session, rules, digest_event(period, centre, ["620602", "620602107"]))
    again = await apply_rules(
        db_session, rules, digest_event(period, centre, ["620602", "620602107"])
    )  # the same day and centre: nothing new
    rows = (
        await db_session.execute(
            text("SELECT recipient, title, body FROM notify.notifications WHERE title = :t"), {"t": f"晨报 {period}"}
        )
    ).all()
    assert made == 2 and again == 0
    assert sorted(r.recipient for r in rows) == ["user:d001", "user:l001"]
    assert all(r.body == "大柳镇：超期案件：DL-2099-001、DL-2099-002。" for r in rows)


async def test_grid_workers_have_no_inbox(system):
    assert (
        await system.http.get(f"{system.notify_url}/v1/notifications", headers=await system.auth("w001", "dev-w001"))
    ).status_code == 404


async def deliveries_of(system, case_id, rule):
    async with (await notify_db(system)).unit_of_work() as s:
        return (
            await s.execute(
                text(
                    """SELECT d.channel, d.recipient, d.payload, n.title, n.body
               FROM notify.deliveries d JOIN notify.notifications n ON n.id = d.notification_id
               WHERE n.case_id = :c AND n.rule = :r ORDER BY d.channel, d.recipient"""
                ),
                {"c": case_id, "r": rule},
            )
        ).all()


async def test_a_department_is_told_by_webhook_and_in_app_when_its_whistle_is_withdrawn(system):
    a, _ = await make_case(system, flags=[], category="land")
    b, _ = await make_case(system, flags=[], category="land")
    await act(system, "d001", a, "grade")
    assert (
        await act(
            system, "d001", a, "whistle", {"departments": [{"code": "PS-DL", "role": "lead"}], "reason": "土地纠纷"}
        )
    ).status_code == 200
    assert (await act(system, "d001", a, "merge", {"into": b, "reason": "同一土地纠纷"})).status_code == 200
    await system.drain()
    rows = await deliveries_of(system, a, "whistle_cancelled")
    assert [(r.channel, r.recipient) for r in rows] == [("inbox", "user:s001"), ("webhook", "department:PS-DL")]
    number_b = (await system.http.get(f"{system.cases_url}/v1/cases/{b}", headers=await system.auth("d001"))).json()[
        "number"
    ]
    assert (
        rows[0].title.startswith("吹哨撤回：")
        and "大柳派出所" in rows[0].body
        and f"已并入案件 {number_b}" in rows[0].body
    )
    hook = rows[1].payload
    assert (
        hook["type"] == "whistle.cancelled"
        and hook["data"]["department"] == "PS-DL"
        and hook["data"]["state"] == "cancelled"
    )
    assert hook["data"]["text"] == rows[0].body


async def test_the_addressed_department_is_told_when_the_centre_closes_its_notice(system):
    with manual_clock() as clk:
        case_id, _ = await make_case(system, flags=[], category="neighbour", people_involved=2)
        await act(system, "d001", case_id, "grade")
        assert (
            await act(
                system,
                "d001",
                case_id,
                "whistle",
                {"departments": [{"code": "PS-DL", "role": "lead"}], "reason": "请派出所处理"},
            )
        ).status_code == 200
        clk.advance(hours=2, minutes=1)  # past the report-in limit and its +1: the supervision notice to PS-DL
        await run_sweep(system)
        ps = await dept_token(system)
        notice = next(
            n
            for n in (
                await system.http.get(f"{system.cases_url}/v1/notices", params={"state": "issued"}, headers=ps)
            ).json()["items"]
            if n["case_id"] == case_id
        )
        url = f"{system.cases_url}/v1/notices/{notice['id']}"
        assert (
            await system.http.post(f"{url}/answer", json={"answer": "已安排民警到场"}, headers=ps)
        ).status_code == 200
        assert (
            await system.http.post(f"{url}/close", json={"note": "已核实整改到位"}, headers=await system.auth("d001"))
        ).status_code == 200
        await system.drain()  # at the moved clock: the events made at it are due
    rows = await deliveries_of(system, case_id, "notice_closed")
    assert [(r.channel, r.recipient) for r in rows] == [("inbox", "user:s001"), ("webhook", "department:PS-DL")]
    assert (
        rows[0].title == f"通知书已结案 {notice['number']}"
        and "已核实整改到位" in rows[0].body
        and "无需再办理" in rows[0].body
    )
    assert rows[1].payload["type"] == "notice.closed" and rows[1].payload["data"]["unit"] == "PS-DL"
    answered = await deliveries_of(system, case_id, "notice_answered_centre")
    assert [(r.channel, r.recipient) for r in answered] == [("inbox", "user:d001")]
    assert "已安排民警到场" in answered[0].body and "请审核后结案" in answered[0].body


async def test_the_centre_hears_when_a_department_returns_a_whistle_and_when_the_lead_reports_done(system):
    with manual_clock():
        returned_case, _ = await make_case(system, flags=[], category="neighbour", people_involved=2)
        done_case, _ = await make_case(system, flags=[], category="neighbour", people_involved=2)
        for case_id in (returned_case, done_case):
            await act(system, "d001", case_id, "grade")
            r = await act(
                system,
                "d001",
                case_id,
                "whistle",
                {"departments": [{"code": "PS-DL", "role": "lead"}], "reason": "请派出所处理"},
            )
            assert r.status_code == 200, r.text
        ps = await dept_token(system)
        mine = (await system.http.get(f"{system.cases_url}/v1/whistles", headers=ps)).json()["items"]
        back = next(w for w in mine if w["case_id"] == returned_case)
        done = next(w for w in mine if w["case_id"] == done_case)
        r = await system.http.post(
            f"{system.cases_url}/v1/whistles/{back['id']}/return", json={"reason": "非本部门职责"}, headers=ps
        )
        assert r.status_code == 200, r.text
        for move in ("ack", "done"):
            r = await system.http.post(f"{system.cases_url}/v1/whistles/{done['id']}/{move}", json={}, headers=ps)
            assert r.status_code == 200, r.text
        await system.drain()
    returned = await deliveries_of(system, returned_case, "whistle_returned_centre")
    assert [(r.channel, r.recipient) for r in returned] == [("inbox", "user:d001")]
    assert "非本部门职责" in returned[0].body and "请重新研判交办" in returned[0].body
    finished = await deliveries_of(system, done_case, "whistle_done_centre")
    assert [(r.channel, r.recipient) for r in finished] == [("inbox", "user:d001")]
    assert "已报告办结" in finished[0].body


def test_the_digest_counts_every_overdue_case_not_only_those_cases_sent_by_number():
    numbers = [f"DL-2099-{i:03d}" for i in range(1, 51)]  # cases names at most 50 of a centre's overdue cases
    many = digest_event(
        "2099-01-01",
        {
            "area": "620602107",
            "name": "大柳镇",
            "overdue": 90,
            "overdue_case_count": 73,
            "due_today": 0,
            "overdue_cases": numbers,
        },
    )
    listed = many.payload["overdue_list"]
    assert listed == "超期案件：" + "、".join(numbers[:20]) + " 等73件。"
    assert many.payload["overdue_case_count"] == 73
    # every overdue case named (three overdue clocks on two cases): no "等"
    all_named = digest_event(
        "2099-01-01",
        {
            "area": "620602107",
            "name": "大柳镇",
            "overdue": 3,
            "overdue_case_count": 2,
            "due_today": 0,
            "overdue_cases": numbers[:2],
        },
    )
    assert all_named.payload["overdue_list"] == f"超期案件：{numbers[0]}、{numbers[1]}。"
    # a cases that does not send the case count: the centre's overdue count
    older = digest_event(
        "2099-01-01", {"area": "620602107", "name": "大柳镇", "overdue": 64, "due_today": 0, "overdue_cases": numbers}
    )
    assert older.payload["overdue_list"].endswith(" 等64件。")


VILLAGE_DISPATCHER = {
    "username": "dv202",
    "name": "村中心调度员",
    "role": "dispatcher",
    "areas": ["620602107201"],
    "password": "demo-pass-1",
}


async def test_a_village_case_notice_answered_is_told_to_the_issuing_township_not_the_nearer_village_centre(system):
    admin = await system.auth("admin")
    assert (
        await system.http.post(f"{system.cases_url}/v1/admin/org", json={"users": [VILLAGE_DISPATCHER]}, headers=admin)
    ).status_code == 200
    try:
        with manual_clock() as clk:
            case_id, _ = await make_case(system, flags=[], category="neighbour", people_involved=2)
            assert (
                await act(system, "d001", case_id, "grade", {"tier": "village", "reason": "村级调处"})
            ).status_code == 200
            clk.advance(hours=2, minutes=1)  # the contact clock breached: the township's notice to the village centre
            await run_sweep(system)
            notice = next(
                n
                for n in (await system.http.get(f"{system.cases_url}/v1/cases/{case_id}", headers=admin)).json()[
                    "notices"
                ]
                if n["kind"] == "supervision"
            )
            assert notice["area"] == "620602107" and notice["unit"] == "620602107201"
            r = await system.http.post(
                f"{system.cases_url}/v1/notices/{notice['id']}/answer",
                json={"answer": "已上门调解"},
                headers=await system.auth("dv202"),
            )
            assert r.status_code == 200, r.text
            await system.drain()
        answered = await deliveries_of(system, case_id, "notice_answered_centre")
        assert [(r.channel, r.recipient) for r in answered] == [
            ("inbox", "user:d001")
        ]  # the township closes it, not dv202
        assert "已上门调解" in answered[0].body and "请审核后结案" in answered[0].body
    finally:  # the village dispatcher leaves again: other tests expect the township to be the nearest centre
        retired = {"users": [VILLAGE_DISPATCHER | {"active": False}]}
        assert (
            await system.http.post(f"{system.cases_url}/v1/admin/org", json=retired, headers=admin)
        ).status_code == 200
        await system.drain()
