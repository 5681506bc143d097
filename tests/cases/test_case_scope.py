"""Who sees which case: every role against a case in each of two townships (allowed or 404)."""

from __future__ import annotations

import pytest
import pytest_asyncio

from tests.intake.factories import GRID_W001, GRID_W101, report

# (role user, sees 大柳镇 case, sees 三岔河镇 case)
MATRIX = [
    ("d001", True, False),  # 大柳镇 dispatcher
    ("d101", False, True),  # 三岔河镇 dispatcher
    ("l001", True, True),  # county leader
    ("admin", True, True),
    ("s001", False, False),  # department staff: only whistled cases (none here)
]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def two_cases(system):
    ids = {}
    for user, device, grid in (("w001", "dev-w001", GRID_W001), ("w101", "dev-w101", GRID_W101)):
        item = report(grid=grid)
        resp = await system.http.post(
            f"{system.intake_url}/v1/sync/push",
            json={"device_id": device, "items": [item]},
            headers=await system.auth(user, device),
        )
        assert resp.json()["results"][0]["status"] == "accepted"
        ids[grid] = item["id"]
    await system.drain()
    found = {}
    for grid, report_id in ids.items():
        page = (
            await system.http.get(
                f"{system.cases_url}/v1/cases", params={"report": report_id}, headers=await system.auth("admin")
            )
        ).json()
        found[grid] = page["items"][0]["id"]
    return found


@pytest.mark.parametrize(("user", "sees_dl", "sees_sch"), MATRIX)
async def test_case_visibility(system, two_cases, user, sees_dl, sees_sch):
    hdrs = await system.auth(user)
    for grid, allowed in ((GRID_W001, sees_dl), (GRID_W101, sees_sch)):
        case_id = two_cases[grid]
        one = await system.http.get(f"{system.cases_url}/v1/cases/{case_id}", headers=hdrs)
        assert one.status_code == (200 if allowed else 404)
        listed = (await system.http.get(f"{system.cases_url}/v1/cases", params={"limit": 500}, headers=hdrs)).json()[
            "items"
        ]
        assert (case_id in {c["id"] for c in listed}) is allowed


@pytest.mark.parametrize(("user", "device"), [("w001", "dev-w001"), ("w101", "dev-w101")])
async def test_grid_workers_see_cases_only_through_the_phone_api(system, two_cases, user, device):
    hdrs = await system.auth(user, device)
    assert (await system.http.get(f"{system.cases_url}/v1/cases", headers=hdrs)).status_code == 404
    for case_id in two_cases.values():
        assert (await system.http.get(f"{system.cases_url}/v1/cases/{case_id}", headers=hdrs)).status_code == 404


async def test_department_system_sees_no_unwhistled_case(system, two_cases):
    tok = (
        await system.http.post(
            f"{system.cases_url}/v1/auth/token",
            data={"grant_type": "client_credentials", "client_id": "ps-dl", "client_secret": "ps-dl-secret"},
        )
    ).json()
    hdrs = {"Authorization": f"Bearer {tok['access_token']}"}
    for case_id in two_cases.values():
        assert (await system.http.get(f"{system.cases_url}/v1/cases/{case_id}", headers=hdrs)).status_code == 404


async def test_list_filters_and_cursor_paging(system, two_cases):
    hdrs = await system.auth("l001")
    seen = []
    cursor = None
    for _ in range(100):
        params = {"limit": 3, "area": "620602107"}
        if cursor:
            params["cursor"] = cursor
        page = (await system.http.get(f"{system.cases_url}/v1/cases", params=params, headers=hdrs)).json()
        seen += [c["id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen))
    assert two_cases[GRID_W001] in seen and two_cases[GRID_W101] not in seen
    bad = await system.http.get(f"{system.cases_url}/v1/cases", params={"cursor": "garbage"}, headers=hdrs)
    assert bad.status_code == 422
    assert (await system.http.get(f"{system.cases_url}/v1/cases/not-a-uuid", headers=hdrs)).status_code == 422


async def test_ledger_csv_streams_the_same_filter(system, two_cases):
    resp = await system.http.get(
        f"{system.cases_url}/v1/cases",
        params={"area": "620602107"},
        headers={**await system.auth("l001"), "Accept": "text/csv"},
    )
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/csv")
    lines = resp.text.lstrip("\ufeff").splitlines()
    assert lines[0].startswith("案件编号,状态")
    assert len(lines) >= 2
    assert (
        await system.http.get(
            f"{system.cases_url}/v1/cases", params={"format": "csv"}, headers=await system.auth("w001", "dev-w001")
        )
    ).status_code == 404
