"""A revisit record (回访记录) from a phone writes only into the case of an open revisit task of that
worker: intake rejects any other per item, and cases ignores a followup that matches no task it issued."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import text

from tests.cases.factories import make_case
from tests.cases.helpers import act, case
from tests.intake.factories import report


async def replied_case_with_revisit_task(system) -> tuple[str, dict]:
    """A case of w001's report, answered (答复), so that w001 holds an open revisit task for it."""
    snap = (
        await system.http.get(f"{system.intake_url}/v1/sync/pull", headers=await system.auth("w001", "dev-w001"))
    ).json()
    case_id, _ = await make_case(system, flags=[], people_involved=2, category="debt")
    for action, body in (
        ("grade", {}),
        ("assign", {"unit": "620602107201", "person": "村调委会"}),
        ("update", {"note": "调解中"}),
        ("resolve", {"outcome": "mediated"}),
        ("reply", {"text": "已答复"}),
    ):
        r = await act(system, "d001", case_id, action, body)
        assert r.status_code == 200, (action, r.text)
    await system.drain()
    feed = (
        await system.http.get(
            f"{system.intake_url}/v1/sync/pull",
            params={"cursor": snap["cursor"], "limit": 500},
            headers=await system.auth("w001", "dev-w001"),
        )
    ).json()
    task = next(c["data"] for c in feed["changes"] if c["type"] == "task" and c["data"].get("case_id") == case_id)
    return case_id, task


def followup(task_id: str, case_id: str, **over) -> dict:
    return {
        "id": str(uuid.uuid4()),
        "kind": "followup",
        "task_id": task_id,
        "case_id": case_id,
        "satisfaction": "satisfied",
        "notes": "当事人表示满意",
        **over,
    }


async def push(system, user: str, device: str, items: list[dict]) -> list[dict]:
    resp = await system.http.post(
        f"{system.intake_url}/v1/sync/push",
        json={"device_id": device, "items": items},
        headers=await system.auth(user, device),
    )
    assert resp.status_code == 200, resp.text
    return resp.json()["results"]


async def stored(system, ids: list[str]) -> int:
    async with system.intake_app.state.db.unit_of_work() as s:
        return (
            await s.execute(
                text("SELECT count(*) FROM intake.reports WHERE CAST(id AS text) = ANY(:ids)"), {"ids": ids}
            )
        ).scalar()


async def test_followup_for_another_workers_task_or_case_is_rejected_and_writes_into_no_case(system):
    case_id, task = await replied_case_with_revisit_task(system)
    before = len((await case(system, case_id, "admin"))["timeline"])
    other_case, _ = await make_case(system, flags=[], people_involved=2, category="debt")

    foreign = followup(task["task_id"], case_id)  # w002 answering w001's task
    unknown = followup(str(uuid.uuid4()), case_id)  # a task nobody issued
    wrong_case = followup(task["task_id"], other_case)  # w001's task, but another case
    results = await push(system, "w002", "dev-w002", [foreign])
    assert results[0]["status"] == "rejected" and results[0]["errors"][0]["loc"] == ["task_id"], results
    results = await push(system, "w001", "dev-w001", [unknown, wrong_case, report()])
    assert [r["status"] for r in results] == ["rejected", "rejected", "accepted"], results
    assert results[0]["errors"][0]["loc"] == ["task_id"] and results[1]["errors"][0]["loc"] == ["case_id"]
    assert all("任务" in r["errors"][0]["msg"] for r in results[:2])
    assert await stored(system, [foreign["id"], unknown["id"], wrong_case["id"]]) == 0
    await system.drain()
    c = await case(system, case_id, "admin")
    assert c["state"] == "replied" and len(c["timeline"]) == before

    # The worker's own revisit record goes through; its retry is a duplicate although the task is now done,
    # and a second, new record for the finished task is refused.
    mine = followup(task["task_id"], case_id)
    assert (await push(system, "w001", "dev-w001", [mine]))[0]["status"] == "accepted"
    assert (await push(system, "w001", "dev-w001", [mine]))[0]["status"] == "duplicate"
    again = await push(system, "w001", "dev-w001", [followup(task["task_id"], case_id)])
    assert again[0]["status"] == "rejected" and again[0]["errors"][0]["loc"] == ["task_id"]
    await system.drain()
    assert (await case(system, case_id, "admin"))["state"] == "revisited"


async def _deliver_followup(system, worker_id: str, task_id: str, case_id: str) -> dict:
    event = {
        "id": str(uuid.uuid4()),
        "type": "followup.submitted",
        "aggregate_id": str(uuid.uuid4()),
        "occurred_at": datetime.now(UTC).isoformat(),
        "payload": {
            "report_id": str(uuid.uuid4()),
            "report_no": "R20261122-999999",
            "worker_id": worker_id,
            "kind": "followup",
            "followup": {"task_id": task_id, "case_id": case_id, "satisfaction": "dissatisfied", "notes": "伪造"},
        },
    }
    resp = await system.http.post(
        f"{system.cases_url}/internal/v1/events",
        json={"source": "intake", "events": [event]},
        headers={"Authorization": f"Bearer {system.settings['intake'].service_token}"},
    )
    assert resp.status_code == 200, resp.text
    return resp.json()["results"][0]


async def user_id(system, username: str) -> str:
    async with system.cases_app.state.db.unit_of_work() as s:
        return (
            await s.execute(text("SELECT CAST(id AS text) FROM cases.users WHERE username = :u"), {"u": username})
        ).scalar()


async def test_cases_ignores_a_followup_that_matches_no_task_it_issued(system):
    case_id, task = await replied_case_with_revisit_task(system)
    before = await case(system, case_id, "admin")
    w001, w002 = await user_id(system, "w001"), await user_id(system, "w002")
    other_case, _ = await make_case(system, flags=[], people_involved=2, category="debt")
    for worker, task_id, target in (
        (w002, task["task_id"], case_id),  # another worker
        (w001, str(uuid.uuid4()), case_id),  # a task never issued
        (w001, task["task_id"], other_case),
    ):  # the task, pointed at another case
        assert (await _deliver_followup(system, worker, task_id, target))["status"] == "processed"
    after = await case(system, case_id, "admin")
    assert after["state"] == "replied" and after["timeline"] == before["timeline"]
    assert not any(t["action"] == "followup" for t in (await case(system, other_case, "admin"))["timeline"])
    # the real one still completes the revisit (dissatisfied: the case is worked on again)
    assert (await _deliver_followup(system, w001, task["task_id"], case_id))["status"] == "processed"
    assert (await case(system, case_id, "admin"))["state"] == "in_progress"
