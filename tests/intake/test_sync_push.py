"""Push: each report stored once, whatever the phone retries."""

from __future__ import annotations

import asyncio
import json
import uuid

from sqlalchemy import text

from tests.intake.factories import GRID_W101, batch, report


async def push(system, items, user="w001", device="dev-w001", **headers):
    hdrs = await system.auth(user, device)
    hdrs.update(headers)
    return await system.http.post(
        f"{system.intake_url}/v1/sync/push", json={"device_id": device, "items": items}, headers=hdrs
    )


async def count(system, sql, **params):
    async with system.intake_app.state.db.unit_of_work() as s:
        return (await s.execute(text(sql), params)).scalar()


async def test_accepted_batch_gets_report_numbers(system):
    items = batch(3)
    resp = await push(system, items, **{"X-Device-Time": "2026-11-22T10:00:00+08:00"})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert [r["status"] for r in body["results"]] == ["accepted"] * 3
    assert all(r["report_no"].startswith("R") for r in body["results"])
    assert [r["id"] for r in body["results"]] == [i["id"] for i in items]
    assert isinstance(body["clock_offset_ms"], int)


async def test_retry_of_same_batch_returns_same_report_numbers_and_stores_once(system):
    items = batch(5)
    first = (await push(system, items)).json()["results"]
    again = (await push(system, items)).json()["results"]
    assert [r["status"] for r in again] == ["duplicate"] * 5
    assert [r["report_no"] for r in again] == [r["report_no"] for r in first]
    ids = [uuid.UUID(i["id"]) for i in items]
    assert await count(system, "SELECT count(*) FROM intake.reports WHERE id = ANY(:ids)", ids=ids) == 5
    assert (
        await count(
            system, "SELECT count(*) FROM intake.outbox WHERE aggregate_id = ANY(:ids)", ids=[str(i) for i in ids]
        )
        == 5
    )


async def test_concurrent_identical_batches_create_each_report_and_case_once(system):
    items = batch(20)
    mixed = [items[:10] + batch(3), items[5:] + batch(2), items, list(reversed(items))]
    responses = await asyncio.gather(*[push(system, m) for m in mixed])
    assert all(r.status_code == 200 for r in responses)
    numbers: dict[str, set[str]] = {}
    for resp in responses:
        for res in resp.json()["results"]:
            assert res["status"] in ("accepted", "duplicate"), res
            numbers.setdefault(res["id"], set()).add(res["report_no"])
    assert all(len(v) == 1 for v in numbers.values())
    await system.drain()
    ids = [i["id"] for i in items]
    async with system.cases_app.state.db.unit_of_work() as s:
        n = (
            await s.execute(
                text("SELECT count(*) FROM cases.case_reports WHERE CAST(report_id AS text) = ANY(:ids)"), {"ids": ids}
            )
        ).scalar()
        cases = (
            await s.execute(
                text(
                    "SELECT count(DISTINCT case_id) FROM cases.case_reports WHERE CAST(report_id AS text) = ANY(:ids)"
                ),
                {"ids": ids},
            )
        ).scalar()
    assert n == 20 and cases == 20


async def test_same_id_with_other_content_is_conflict_and_not_overwritten(system):
    item = report()
    await push(system, [item])
    changed = dict(item, title="改过的标题")
    res = (await push(system, [changed])).json()["results"][0]
    assert res["status"] == "conflict"
    assert (
        await count(system, "SELECT title FROM intake.reports WHERE id = :i", i=uuid.UUID(item["id"])) == item["title"]
    )


async def test_invalid_item_is_rejected_alone_with_field_errors(system):
    good = report()
    bad = report(people_involved="many", parties=[{"name": "x", "id_number": "123"}])
    res = (await push(system, [good, bad])).json()["results"]
    assert res[0]["status"] == "accepted"
    assert res[1]["status"] == "rejected"
    locs = {tuple(e["loc"]) for e in res[1]["errors"]}
    assert ("people_involved",) in locs and ("parties", 0, "id_number") in locs
    assert await count(system, "SELECT count(*) FROM intake.reports WHERE id = :i", i=uuid.UUID(bad["id"])) == 0


async def test_grid_not_bound_to_worker_is_rejected(system):
    res = (await push(system, [report(grid=GRID_W101)])).json()["results"][0]
    assert res["status"] == "rejected" and res["errors"][0]["loc"] == ["grid"]


async def test_microgrid_below_bound_grid_is_accepted(system):
    res = (await push(system, [report(grid="620602107202-01-A")], user="w002", device="dev-w002")).json()["results"][0]
    assert res["status"] == "accepted"


async def test_missing_attachments_are_listed_but_do_not_block(system):
    sha = "sha256:" + "ab" * 32
    res = (await push(system, [report(attachments=[sha])])).json()["results"][0]
    assert res["status"] == "accepted" and res["missing_attachments"] == [sha]


async def test_whole_request_refusals_store_nothing(system):
    hdrs = await system.auth("w001", "dev-w001")
    url = f"{system.intake_url}/v1/sync/push"
    item = report()
    cases = [
        (
            await system.http.post(
                url,
                content=b'{"device_id": "dev-w001", "items": [',
                headers={**hdrs, "content-type": "application/json"},
            ),
            422,
        ),
        (await system.http.post(url, json={"device_id": "dev-w001", "items": {"id": 1}}, headers=hdrs), 422),
        (await system.http.post(url, json={"device_id": "dev-w001", "items": [item] * 501}, headers=hdrs), 413),
        (await system.http.post(url, json={"device_id": "dev-w001", "items": [item]}), 401),
        (await system.http.post(url, json={"device_id": "dev-other", "items": [item]}, headers=hdrs), 403),
        (
            await system.http.post(
                url, json={"device_id": "dev-w001", "items": [item]}, headers={**hdrs, "X-Device-Time": "yesterday"}
            ),
            422,
        ),
        (
            await system.http.post(
                url, content=b"x" * (5 * 1024 * 1024 + 1), headers={**hdrs, "content-type": "application/json"}
            ),
            413,
        ),
    ]
    for resp, status in cases:
        assert resp.status_code == status, (status, resp.text[:300])
        assert resp.headers["content-type"].startswith("application/problem+json")
        body = resp.json()
        assert body["status"] == status and body["title"] and body["detail"]
    assert await count(system, "SELECT count(*) FROM intake.reports WHERE id = :i", i=uuid.UUID(item["id"])) == 0


async def test_other_roles_cannot_push(system):
    resp = await system.http.post(
        f"{system.intake_url}/v1/sync/push", json={"device_id": "x", "items": []}, headers=await system.auth("d001")
    )
    assert resp.status_code == 404


async def test_more_items_than_the_limit_is_413_naming_the_limit(system):
    item = report()
    resp = await system.http.post(
        f"{system.intake_url}/v1/sync/push",
        json={"device_id": "dev-w001", "items": [item] * 501},
        headers=await system.auth("w001", "dev-w001"),
    )
    assert resp.status_code == 413
    body = resp.json()
    assert body["code"] == "too_many_items" and body["max_items"] == 500 and "500" in body["detail"]
    assert body["errors"][0]["loc"] == ["body", "items"]
    assert await count(system, "SELECT count(*) FROM intake.reports WHERE id = :i", i=uuid.UUID(item["id"])) == 0


async def test_whole_item_rules_name_the_field_at_fault(system):
    no_grid = report()
    no_grid.pop("grid")
    no_title = report(title="")
    bad_category = report(category="no-such-category")
    followup = {
        "id": str(uuid.uuid4()),
        "kind": "followup",
        "captured_at": "2026-11-20T09:00:00+08:00",
        "satisfaction": "satisfied",
    }
    resp = await push(system, [no_grid, no_title, bad_category, followup])
    assert resp.status_code == 200, resp.text
    results = resp.json()["results"]
    assert all(r["status"] == "rejected" for r in results), results
    assert [e["loc"] for e in results[0]["errors"]] == [["grid"]]
    assert [e["loc"] for e in results[1]["errors"]] == [["title"]]
    assert [e["loc"] for e in results[2]["errors"]] == [["category"]]
    assert [e["loc"] for e in results[3]["errors"]] == [["task_id"], ["case_id"]]
    assert all(e["msg"] for r in results for e in r["errors"])


async def test_a_nul_in_one_items_title_rejects_only_that_item_naming_the_field(system):
    items = batch(3)
    items[1]["title"] = "工地拖欠\u0000工资"
    resp = await push(system, items)
    assert resp.status_code == 200, resp.text
    results = resp.json()["results"]
    assert [r["status"] for r in results] == ["accepted", "rejected", "accepted"]
    assert results[1]["id"] == items[1]["id"]
    assert results[1]["errors"] == [
        {"loc": ["title"], "msg": "文本含有不允许的字符（NUL 或无效的 Unicode）", "type": "string_unstorable"}
    ]
    ids = [uuid.UUID(i["id"]) for i in items]
    assert await count(system, "SELECT count(*) FROM intake.reports WHERE id = ANY(:ids)", ids=ids) == 2
    assert await count(system, "SELECT count(*) FROM intake.reports WHERE id = :i", i=ids[1]) == 0


async def test_a_lone_surrogate_in_an_item_rejects_only_that_item_naming_the_field(system):
    """A phone that cuts a text in the middle of an emoji sends a lone surrogate escape ("\\ud83d")."""
    items = [report(), report(), report(), {"id": "\ud83d", "kind": "hazard"}, report()]
    items[0]["description"] = "现场照片见附件\ud83d"
    items[4]["备注\ud83d"] = "an unknown key cut mid-emoji"
    items[1]["parties"][1]["name"] = "某建筑\u0000公司"
    hdrs = {**(await system.auth("w001", "dev-w001")), "content-type": "application/json"}
    body = json.dumps(
        {"device_id": "dev-w001", "items": items}
    ).encode()  # ensure_ascii: the escapes as a phone sends them
    resp = await system.http.post(f"{system.intake_url}/v1/sync/push", content=body, headers=hdrs)
    assert resp.status_code == 200, resp.text
    results = resp.json()["results"]
    assert [r["status"] for r in results] == ["rejected", "rejected", "accepted", "rejected", "rejected"]
    assert [e["type"] for e in results[4]["errors"]] == [
        "string_unicode"
    ]  # the key itself cannot be read: only that item is refused
    assert [e["loc"] for e in results[0]["errors"]] == [["description"]]
    assert [e["loc"] for e in results[1]["errors"]] == [["parties", 1, "name"]]
    assert results[3]["id"] == "\ufffd"  # echoed as far as it can be sent back
    assert await count(system, "SELECT count(*) FROM intake.reports WHERE id = :i", i=uuid.UUID(items[2]["id"])) == 1


async def test_a_nul_in_the_device_id_is_a_422_naming_it(system):
    resp = await system.http.post(
        f"{system.intake_url}/v1/sync/push",
        json={"device_id": "dev-\u0000", "items": batch(1)},
        headers=await system.auth("w001", "dev-w001"),
    )
    assert resp.status_code == 422, resp.text
    assert resp.json()["errors"][0]["loc"] == ["body", "device_id"]
