"""Pull: the phone learns what became of its reports, every change once and in order."""

from __future__ import annotations

import asyncio
import uuid

from sqlalchemy import text

from services.intake.feed import repository as feed
from shared.clock import clock
from tests.intake.factories import batch, report
from tests.support import undeliver_outbox


async def push(system, items, user="w001", device="dev-w001"):
    resp = await system.http.post(
        f"{system.intake_url}/v1/sync/push",
        json={"device_id": device, "items": items},
        headers=await system.auth(user, device),
    )
    assert resp.status_code == 200, resp.text
    return resp.json()["results"]


async def pull(system, cursor=None, user="w001", device="dev-w001", **params):
    if cursor is not None:
        params["cursor"] = cursor
    return await system.http.get(
        f"{system.intake_url}/v1/sync/pull", params=params, headers=await system.auth(user, device)
    )


async def test_report_becomes_case_and_phone_learns_case_number(system):
    snap = (await pull(system)).json()
    assert snap["snapshot"] is True
    assert any(c["type"] == "reference" for c in snap["changes"])
    item = report()
    result = (await push(system, [item]))[0]
    await system.drain()
    body = (await pull(system, snap["cursor"])).json()
    mine = [c for c in body["changes"] if c["data"].get("report_id") == item["id"]]
    assert len(mine) == 1
    change = mine[0]
    assert change["type"] == "report.status"
    assert change["data"]["state"] == "received"
    assert change["data"]["report_no"] == result["report_no"]
    assert change["data"]["case_number"].startswith("C")
    # The dispatcher of the township sees the case, with masked parties.
    cases = (
        await system.http.get(
            f"{system.cases_url}/v1/cases", params={"report": result["report_no"]}, headers=await system.auth("d001")
        )
    ).json()
    assert len(cases["items"]) == 1
    detail = (
        await system.http.get(
            f"{system.cases_url}/v1/cases/{cases['items'][0]['id']}", headers=await system.auth("d001")
        )
    ).json()
    assert detail["number"] == change["data"]["case_number"]
    assert detail["state"] == "received"
    assert detail["reports"] == [
        {"id": item["id"], "report_no": result["report_no"], "received_at": detail["reports"][0]["received_at"]}
    ]
    applicant = item["parties"][0]
    assert detail["parties"][0]["id_number"] == applicant["id_number"][:4] + "*" * 10 + applicant["id_number"][-4:]
    assert detail["parties"][0]["phone"] == applicant["phone"][:3] + "****" + applicant["phone"][-4:]
    assert detail["timeline"][0]["to"] == "received"
    # Pulling again from the new cursor repeats nothing.
    again = (await pull(system, body["cursor"])).json()
    assert again["changes"] == []


async def test_redelivered_events_make_no_second_case_and_no_second_change(system):
    snap = (await pull(system)).json()
    item = report()
    await push(system, [item])
    # Deliver, then force the same outbox rows to be delivered again (as after a lost 2xx).
    await system.drain()
    await undeliver_outbox(system.intake_app.state.db, "intake", aggregate_id=item["id"])
    await undeliver_outbox(system.cases_app.state.db, "cases", report_id=item["id"])
    await system.drain()
    async with system.cases_app.state.db.unit_of_work() as s:
        n = (
            await s.execute(
                text("SELECT count(*) FROM cases.case_reports WHERE report_id = :r"), {"r": uuid.UUID(item["id"])}
            )
        ).scalar()
    assert n == 1
    changes = (await pull(system, snap["cursor"])).json()["changes"]
    assert len([c for c in changes if c["data"].get("report_id") == item["id"]]) == 1


async def test_unknown_or_foreign_cursor_is_gone(system):
    assert (await pull(system, "12345.notasignature")).status_code == 410
    other = (await pull(system, user="w002", device="dev-w002")).json()["cursor"]
    resp = await pull(system, other)
    assert resp.status_code == 410
    assert resp.headers["content-type"].startswith("application/problem+json")


async def test_cursor_paging_returns_every_change_once_in_order(system):
    snap = (await pull(system, user="w002", device="dev-w002")).json()
    items = batch(7, grid="620602107202-01")
    await push(system, items, user="w002", device="dev-w002")
    await system.drain()
    seen: list[int] = []
    cursor = snap["cursor"]
    for _ in range(20):
        body = (await pull(system, cursor, user="w002", device="dev-w002", limit=2)).json()
        seen += [c["seq"] for c in body["changes"]]
        cursor = body["cursor"]
        if not body["has_more"]:
            break
    assert len(seen) == 7 and seen == sorted(seen) and len(set(seen)) == 7


async def test_concurrent_writers_never_make_a_pull_skip_a_change(system):
    """Writers commit out of order while a reader pages; the reader must end with every seq."""
    worker = f"race-{uuid.uuid4()}"
    db = system.intake_app.state.db
    writers, per_writer = 8, 25
    seen: list[int] = []
    done = asyncio.Event()

    async def writer(w: int) -> None:
        for i in range(per_writer):
            async with db.unit_of_work() as s:
                await feed.append(s, worker, [("message", {"w": w, "i": i})], clock.now())
                if i % 3 == 0:
                    await asyncio.sleep(0.002)  # hold the transaction open a moment: commits interleave

    async def reader() -> None:
        after = 0
        while True:
            async with db.unit_of_work() as s:
                rows = await feed.since(s, worker, after, 10)
            if rows:
                seen.extend(r.seq for r in rows)
                after = rows[-1].seq
            elif done.is_set():
                async with db.unit_of_work() as s:
                    rows = await feed.since(s, worker, after, 1000)
                seen.extend(r.seq for r in rows)
                return
            await asyncio.sleep(0)

    read = asyncio.create_task(reader())
    await asyncio.gather(*[writer(w) for w in range(writers)])
    done.set()
    await read
    total = writers * per_writer
    assert seen == list(range(1, total + 1))


async def test_long_poll_returns_when_a_change_arrives(system):
    snap = (await pull(system)).json()
    waiting = asyncio.create_task(pull(system, snap["cursor"], wait=10))
    await asyncio.sleep(0.3)
    assert not waiting.done()
    await push(system, [report()])
    await system.drain()
    resp = await asyncio.wait_for(waiting, 8)
    assert resp.status_code == 200 and len(resp.json()["changes"]) >= 1


async def test_only_grid_workers_pull(system):
    assert (
        await system.http.get(f"{system.intake_url}/v1/sync/pull", headers=await system.auth("d001"))
    ).status_code == 404
