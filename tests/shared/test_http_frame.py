"""The common frame: health, readiness, request id, ETag on polled lists."""

from __future__ import annotations


async def test_health_and_readiness_of_every_service(system):
    for url in (system.intake_url, system.cases_url, system.notify_url):
        assert (await system.http.get(f"{url}/healthz")).json()["status"] == "ok"
        ready = await system.http.get(f"{url}/readyz")
        assert ready.status_code == 200 and ready.json()["status"] == "ready"


async def test_request_id_is_echoed(system):
    resp = await system.http.get(f"{system.cases_url}/healthz", headers={"X-Request-ID": "abc-123"})
    assert resp.headers["x-request-id"] == "abc-123"


async def test_polled_list_sends_etag_and_answers_304(system):
    hdrs = await system.auth("l001")
    first = await system.http.get(f"{system.cases_url}/v1/cases", headers=hdrs)
    etag = first.headers["etag"]
    again = await system.http.get(f"{system.cases_url}/v1/cases", headers={**hdrs, "If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""


async def test_unknown_path_is_problem_json(system):
    resp = await system.http.get(f"{system.cases_url}/v1/nothing-here")
    assert resp.status_code == 404 and resp.headers["content-type"].startswith("application/problem+json")


async def test_a_body_that_is_not_utf8_is_422_naming_the_body_and_changes_nothing(system):
    from tests.cases.factories import make_case
    from tests.cases.helpers import case

    case_id, _ = await make_case(system, flags=[], category="neighbour", people_involved=2)
    before = await case(system, case_id)
    resp = await system.http.post(
        f"{system.cases_url}/v1/cases/{case_id}/grade",
        content=b"\x1f\xff\xfeN\xc3",
        headers={**(await system.auth("d001")), "Content-Type": "application/json"},
    )
    assert resp.status_code == 422 and resp.headers["content-type"].startswith("application/problem+json")
    assert resp.json()["errors"] == [{"loc": ["body"], "msg": "请求体不是有效的 UTF-8 JSON", "type": "json_invalid"}]
    after = await case(system, case_id)
    assert after["state"] == before["state"] and len(after["timeline"]) == len(before["timeline"])


async def test_text_postgresql_cannot_store_is_422_and_stores_nothing(system):
    admin = await system.auth("admin")
    # a NUL character in a query parameter and in a body field, and a lone surrogate in a body field
    listed = await system.http.get(f"{system.cases_url}/v1/deadlines", params={"kind": "a\x00b"}, headers=admin)
    assert listed.status_code == 422 and listed.json()["errors"][0]["type"] == "string_unstorable", listed.text
    for note in ("假日\x00调整", "\ud92d\ude6a"[0] + "x"):
        body = ('{"workday": false, "note": ' + __import__("json").dumps(note) + "}").encode()
        resp = await system.http.put(
            f"{system.cases_url}/v1/admin/calendar/2031-11-29",
            content=body,
            headers={**admin, "Content-Type": "application/json"},
        )
        assert resp.status_code == 422 and resp.headers["content-type"].startswith("application/problem+json"), (
            resp.text
        )
    days = (await system.http.get(f"{system.cases_url}/v1/admin/calendar", headers=admin)).json()
    assert "2031-11-29" not in str(days)


async def test_an_outbox_row_id_beyond_bigint_is_422_not_500(system):
    admin = await system.auth("admin")
    for url in (system.intake_url, system.cases_url, system.notify_url):
        resp = await system.http.post(f"{url}/v1/admin/outbox/470392027159355588608/retry", headers=admin)
        assert resp.status_code == 422 and resp.json()["errors"][0]["loc"] == ["path", "row_id"], resp.text
        resp = await system.http.post(f"{url}/v1/admin/outbox/0/skip", json={"reason": "测试"}, headers=admin)
        assert resp.status_code == 422, resp.text


async def test_a_nul_in_a_query_parameter_is_422_before_a_streamed_ledger_starts(system):
    hdrs = {**(await system.auth("s001")), "Accept": "text/csv"}
    resp = await system.http.get(f"{system.cases_url}/v1/cases?format=csv&state=%00&limit=1", headers=hdrs)
    assert resp.status_code == 422 and resp.headers["content-type"].startswith("application/problem+json"), resp.text
    assert resp.json()["errors"] == [
        {"loc": ["query"], "msg": "查询参数含有不允许的字符（NUL）", "type": "string_unstorable"}
    ]
