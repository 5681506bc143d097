"""Org changes reach the phones: an org import in cases replaces intake's directory copy and gives each
grid worker whose reference data changed one `reference` change in the pull feed."""

from __future__ import annotations

import uuid

from sqlalchemy import text

from tests.cases.factories import import_org
from tests.intake.factories import report
from tests.intake.uploads import download, photo, sha, upload_whole
from tests.support import DEMO_PASSWORD

VILLAGE = "620602107209"
GRID_1 = "620602107209-01"
GRID_2 = "620602107209-02"


def org(grid_1_name: str = "新柳村第一网格", grid_2_active: bool = True, department: bool = False) -> dict:
    """A new village under 大柳镇 (the county and township repeated as they are), its two grids, and a
    grid worker bound to the village."""
    grids = [
        {"code": GRID_1, "name": grid_1_name, "level": "grid"},
        {"code": GRID_2, "name": "新柳村第二网格", "level": "grid", "active": grid_2_active},
    ]
    doc = {
        "areas": [
            {
                "code": "620602",
                "name": "凉州区",
                "level": "county",
                "children": [
                    {
                        "code": "620602107",
                        "name": "大柳镇",
                        "level": "township",
                        "children": [{"code": VILLAGE, "name": "新柳村", "level": "village", "children": grids}],
                    }
                ],
            }
        ],
        "users": [
            {"username": "w209", "name": "钱十", "role": "grid_worker", "areas": [VILLAGE], "password": DEMO_PASSWORD}
        ],
    }
    if department:
        doc["departments"] = [{"code": "CW-XL", "name": "新柳村调委会", "kind": "mediation", "area": VILLAGE}]
    return doc


async def pull(system, user: str, device: str, cursor: str | None = None) -> dict:
    params = {"cursor": cursor} if cursor else {}
    resp = await system.http.get(
        f"{system.intake_url}/v1/sync/pull", params=params, headers=await system.auth(user, device)
    )
    assert resp.status_code == 200, resp.text
    return resp.json()


async def push_to(system, grid: str, worker: str = "w209", **over) -> dict:
    item = report(grid=grid, id=str(uuid.uuid4()), **over)
    resp = await system.http.post(
        f"{system.intake_url}/v1/sync/push",
        json={"device_id": f"dev-{worker}", "items": [item]},
        headers=await system.auth(worker, f"dev-{worker}"),
    )
    assert resp.status_code == 200, resp.text
    return resp.json()["results"][0]


async def test_org_import_sends_changed_reference_to_the_workers_it_touches_and_retired_grid_is_refused(system):
    await import_org(system, org())
    snap = await pull(system, "w209", "dev-w209")
    reference = next(c["data"] for c in snap["changes"] if c["type"] == "reference")
    assert {a["code"]: a["name"] for a in reference["areas"] if a["level"] == "grid"} == {
        GRID_1: "新柳村第一网格",
        GRID_2: "新柳村第二网格",
    }
    assert (await push_to(system, GRID_2))["status"] == "accepted"
    other = await pull(system, "w001", "dev-w001")

    # The grid is renamed, the second grid retired, and a department set up in the village.
    await import_org(system, org(grid_1_name="新柳村东网格", grid_2_active=False, department=True))

    feed = await pull(system, "w209", "dev-w209", snap["cursor"])
    references = [c["data"] for c in feed["changes"] if c["type"] == "reference"]
    assert len(references) == 1, feed["changes"]
    changed = references[0]
    grids = {a["code"]: a["name"] for a in changed["areas"] if a["level"] == "grid"}
    assert grids == {GRID_1: "新柳村东网格"}
    assert [d["code"] for d in changed["departments"] if d["area_code"] == VILLAGE] == ["CW-XL"]
    # the same shape (and content) as the reference of a fresh snapshot
    fresh = next(c["data"] for c in (await pull(system, "w209", "dev-w209"))["changes"] if c["type"] == "reference")
    assert changed == fresh

    # nothing of w001's changed: no reference change for them
    assert [
        c for c in (await pull(system, "w001", "dev-w001", other["cursor"]))["changes"] if c["type"] == "reference"
    ] == []

    # the retired grid binds no report any more; the renamed one still does
    refused = await push_to(system, GRID_2)
    assert refused["status"] == "rejected" and refused["errors"][0]["loc"] == ["grid"], refused
    assert (await push_to(system, GRID_1))["status"] == "accepted"

    # the same document again changes nothing: no second reference change
    await import_org(system, org(grid_1_name="新柳村东网格", grid_2_active=False, department=True))
    again = await pull(system, "w209", "dev-w209", feed["cursor"])
    assert [c for c in again["changes"] if c["type"] == "reference"] == []


async def test_worker_moved_to_another_grid_gets_the_reference_of_the_new_one(system):
    await import_org(system, org())
    snap = await pull(system, "w209", "dev-w209")
    doc = org()
    doc["users"][0]["areas"] = [GRID_1]
    await import_org(system, doc)
    feed = await pull(system, "w209", "dev-w209", snap["cursor"])
    assert [c["type"] for c in feed["changes"]] == ["reference"]
    data = feed["changes"][0]["data"]
    assert data["grids"] == [GRID_1]
    assert GRID_2 not in {a["code"] for a in data["areas"]}
    await import_org(system, org())  # back to the village for the other tests


async def test_a_grid_named_in_the_token_is_accepted_before_the_directory_reaches_intake(system):
    grid = "620602107210-01"
    doc = {
        "areas": [
            {
                "code": "620602",
                "name": "凉州区",
                "level": "county",
                "children": [
                    {
                        "code": "620602107",
                        "name": "大柳镇",
                        "level": "township",
                        "children": [
                            {
                                "code": "620602107210",
                                "name": "后柳村",
                                "level": "village",
                                "children": [{"code": grid, "name": "后柳村第一网格", "level": "grid"}],
                            }
                        ],
                    }
                ],
            }
        ],
        "users": [
            {"username": "w210", "name": "孙十一", "role": "grid_worker", "areas": [grid], "password": DEMO_PASSWORD}
        ],
    }
    resp = await system.http.post(f"{system.cases_url}/v1/admin/org", json=doc, headers=await system.auth("admin"))
    assert resp.status_code == 200, resp.text
    async with system.intake_app.state.db.unit_of_work() as s:
        assert (await s.execute(text("SELECT count(*) FROM intake.areas WHERE code = :g"), {"g": grid})).scalar() == 0
    # intake has not heard of the new village yet, but the worker's token (issued by cases) names the grid
    item = report(grid=grid, id=str(uuid.uuid4()))
    resp = await system.http.post(
        f"{system.intake_url}/v1/sync/push",
        json={"device_id": "dev-w210", "items": [item]},
        headers=await system.auth("w210", "dev-w210"),
    )
    assert resp.json()["results"][0]["status"] == "accepted", resp.text
    await system.drain()


async def test_a_photo_of_a_report_on_a_retired_grid_is_still_visible_to_the_township_dispatcher(system):
    await import_org(system, org())
    data = photo(20_000)
    await upload_whole(system, data, "w209")
    assert (await push_to(system, GRID_2, attachments=[f"sha256:{sha(data)}"]))["status"] == "accepted"
    await system.drain()
    assert (await download(system, sha(data), "d001")).status_code == 200

    await import_org(system, org(grid_2_active=False))  # the grid is retired (撤销)

    async with system.intake_app.state.db.unit_of_work() as s:
        row = (await s.execute(text("SELECT active FROM intake.areas WHERE code = :g"), {"g": GRID_2})).one()
    assert row.active is False  # kept, marked retired
    for user in ("d001", "l001"):  # the township's dispatcher and the county's leader
        got = await download(system, sha(data), user)
        assert got.status_code == 200 and got.content == data, (user, got.text)
    assert (await download(system, sha(data), "d101")).status_code == 404  # another township still not
    # the retired grid still binds no new report and is not in the phone's reference data
    assert (await push_to(system, GRID_2))["status"] == "rejected"
    reference = next(c["data"] for c in (await pull(system, "w209", "dev-w209"))["changes"] if c["type"] == "reference")
    assert GRID_2 not in {a["code"] for a in reference["areas"]}

    await import_org(system, org())  # revived: binds and is sent to phones again
    assert (await push_to(system, GRID_2))["status"] == "accepted"
    reference = next(c["data"] for c in (await pull(system, "w209", "dev-w209"))["changes"] if c["type"] == "reference")
    assert GRID_2 in {a["code"] for a in reference["areas"]}


async def test_a_retired_department_leaves_the_phones_reference_data(system):
    await import_org(system, org(department=True))
    reference = next(c["data"] for c in (await pull(system, "w209", "dev-w209"))["changes"] if c["type"] == "reference")
    assert "CW-XL" in {d["code"] for d in reference["departments"]}
    doc = org(department=True)
    doc["departments"][0]["active"] = False
    await import_org(system, doc)
    reference = next(c["data"] for c in (await pull(system, "w209", "dev-w209"))["changes"] if c["type"] == "reference")
    assert "CW-XL" not in {d["code"] for d in reference["departments"]}
    async with system.intake_app.state.db.unit_of_work() as s:
        assert (await s.execute(text("SELECT active FROM intake.departments WHERE code = 'CW-XL'"))).scalar() is False


async def test_a_grid_named_in_the_token_binds_no_report_once_intake_knows_it_is_retired(system):
    village, grid = "620602107211", "620602107211-01"

    def doc(active: bool) -> dict:
        return {
            "areas": [
                {
                    "code": "620602",
                    "name": "凉州区",
                    "level": "county",
                    "children": [
                        {
                            "code": "620602107",
                            "name": "大柳镇",
                            "level": "township",
                            "children": [
                                {
                                    "code": village,
                                    "name": "西柳村",
                                    "level": "village",
                                    "children": [
                                        {"code": grid, "name": "西柳村第一网格", "level": "grid", "active": active}
                                    ],
                                }
                            ],
                        }
                    ],
                }
            ],
            "users": [
                {
                    "username": "w211",
                    "name": "周十二",
                    "role": "grid_worker",
                    "areas": [grid],
                    "password": DEMO_PASSWORD,
                }
            ],
        }

    await import_org(system, doc(True))
    assert (await push_to(system, grid, "w211"))["status"] == "accepted"
    # the grid is retired; the phone still holds a token naming it
    await import_org(system, doc(False))
    refused = await push_to(system, grid, "w211")
    assert refused["status"] == "rejected" and refused["errors"][0]["loc"] == ["grid"], refused
