"""A department system's client disabled in the org document (active: false) gets no token and its tokens
stop working; a department whose whistle was returned or cancelled keeps its whistle items but no longer
reads the case, so it sees none of the case's later changes."""

from __future__ import annotations

from tests.cases.factories import graded_case, import_org, whistle
from tests.cases.helpers import act, dept_token

CLIENT = {"client_id": "sf-dl-ledger", "client_secret": "sf-dl-ledger-secret", "department": "SF-DL"}


async def client_grant(system):
    return await system.http.post(
        f"{system.cases_url}/v1/auth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": CLIENT["client_id"],
            "client_secret": CLIENT["client_secret"],
        },
    )


async def test_a_disabled_client_gets_no_token_and_its_token_stops_working(system):
    await import_org(system, {"clients": [CLIENT]}, drain=False)
    granted = await client_grant(system)
    assert granted.status_code == 200, granted.text
    hdrs = {"Authorization": f"Bearer {granted.json()['access_token']}"}
    assert (await system.http.get(f"{system.cases_url}/v1/whistles", headers=hdrs)).status_code == 200
    try:
        await import_org(system, {"clients": [CLIENT | {"active": False}]}, drain=False)
        refused = await client_grant(system)
        assert refused.status_code == 401 and refused.json()["error"] == "invalid_client", refused.text
        assert "www-authenticate" in refused.headers
        for path in ("/v1/whistles", "/v1/cases"):
            stale = await system.http.get(f"{system.cases_url}{path}", headers=hdrs)
            assert stale.status_code == 401 and stale.json()["error"] == "invalid_token", (path, stale.text)
            assert stale.json()["detail"] == "客户端已停用"
    finally:
        await import_org(system, {"clients": [CLIENT | {"active": True}]}, drain=False)
    assert (await client_grant(system)).status_code == 200
    assert (await system.http.get(f"{system.cases_url}/v1/whistles", headers=hdrs)).status_code == 200


async def whistle_of(system, headers, case_id):
    items = (await system.http.get(f"{system.cases_url}/v1/whistles", headers=headers)).json()["items"]
    return [w for w in items if w["case_id"] == case_id]


async def test_a_department_that_returned_its_whistle_keeps_the_item_but_not_the_case(system):
    case_id = await graded_case(system)
    await whistle(system, case_id, lead="PS-DL", reason="请牵头处理")
    ps = await dept_token(system, "ps-dl")
    assert (await system.http.get(f"{system.cases_url}/v1/cases/{case_id}", headers=ps)).status_code == 200
    (item,) = await whistle_of(system, ps, case_id)
    r = await system.http.post(
        f"{system.cases_url}/v1/whistles/{item['id']}/return", json={"reason": "非本部门职责"}, headers=ps
    )
    assert r.status_code == 200, r.text
    # later changes of the case are no longer the department's to read
    assert (await act(system, "d001", case_id, "reject", {"reason": "不属于受理范围"})).status_code == 200
    assert (await system.http.get(f"{system.cases_url}/v1/cases/{case_id}", headers=ps)).status_code == 404
    listed = (await system.http.get(f"{system.cases_url}/v1/cases", params={"limit": 500}, headers=ps)).json()
    assert case_id not in {c["id"] for c in listed["items"]}
    # its own whistle item stays, as it ended
    (ended,) = await whistle_of(system, ps, case_id)
    assert ended["id"] == item["id"] and ended["state"] == "returned" and ended["return_reason"] == "非本部门职责"


async def test_a_department_whose_whistle_was_cancelled_keeps_the_item_but_not_the_case(system):
    case_id = await graded_case(system)
    r = await act(
        system,
        "d001",
        case_id,
        "whistle",
        {"departments": [{"code": "PS-DL", "role": "lead"}, {"code": "SF-DL", "role": "assist"}], "reason": "协同"},
    )
    assert r.status_code == 200, r.text
    sf_client = {"client_id": "sf-dl-system", "client_secret": "sf-dl-system-secret", "department": "SF-DL"}
    await import_org(system, {"clients": [sf_client]}, drain=False)
    sf = await dept_token(system, "sf-dl-system")
    ps = await dept_token(system, "ps-dl")
    assert (await system.http.get(f"{system.cases_url}/v1/cases/{case_id}", headers=sf)).status_code == 200
    (lead,) = await whistle_of(system, ps, case_id)
    assert (
        await system.http.post(
            f"{system.cases_url}/v1/whistles/{lead['id']}/return", json={"reason": "非本部门职责"}, headers=ps
        )
    ).status_code == 200
    # rejecting the case cancels the assist whistle still pending; what follows is not SF-DL's to read
    assert (await act(system, "d001", case_id, "reject", {"reason": "不属于受理范围"})).status_code == 200
    assert (await system.http.get(f"{system.cases_url}/v1/cases/{case_id}", headers=sf)).status_code == 404
    (ended,) = await whistle_of(system, sf, case_id)
    assert ended["state"] == "cancelled" and ended["return_reason"] == "案件不予受理：不属于受理范围"
    cancelled = (
        await system.http.get(f"{system.cases_url}/v1/whistles", params={"status": "cancelled"}, headers=sf)
    ).json()["items"]
    assert ended["id"] in {w["id"] for w in cancelled}


async def test_a_department_that_finished_its_whistle_still_reads_the_case(system):
    case_id = await graded_case(system)
    await whistle(system, case_id, lead="PS-DL", reason="请牵头处理")
    ps = await dept_token(system, "ps-dl")
    (item,) = await whistle_of(system, ps, case_id)
    for name in ("ack", "done"):
        assert (
            await system.http.post(f"{system.cases_url}/v1/whistles/{item['id']}/{name}", json={}, headers=ps)
        ).status_code == 200
    assert (await system.http.get(f"{system.cases_url}/v1/cases/{case_id}", headers=ps)).status_code == 200
