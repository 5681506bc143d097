"""Helpers of the desk tests: a matter registered at the centre (POST /v1/cases) and taken to its reply."""

from __future__ import annotations

from typing import Any

from tests.cases.helpers import act
from tests.intake.factories import GRID_W001, id_number, phone


def desk_body(**over: Any) -> dict[str, Any]:
    """A phone call (来电) about a neighbours' quarrel in 大柳村, with the caller as applicant."""
    body: dict[str, Any] = {
        "channel": "phone",
        "area": GRID_W001,
        "kind": "dispute",
        "category": "neighbour",
        "title": "来电反映邻居占道堆放杂物",
        "description": "来电人称邻居长期在公共通道堆放杂物，多次协商未果",
        "parties": [
            {"name": "陈某", "id_number": id_number(), "phone": phone(), "role": "applicant"},
            {"name": "刘某", "role": "respondent"},
        ],
        "people_involved": 2,
        "amount_cny": "0",
        "flags": [],
        "location": {"lat": 37.93, "lon": 102.64, "address": "大柳村二组"},
        "occurred_at": "2026-11-30T10:00:00+08:00",
    }
    body.update(over)
    return body


async def register(system: Any, body: dict[str, Any], user: str = "d001", key: str | None = None) -> Any:
    headers = await system.auth(user)
    if key:
        headers["Idempotency-Key"] = key
    return await system.http.post(f"{system.cases_url}/v1/cases", json=body, headers=headers)


async def registered(system: Any, user: str = "d001", **over: Any) -> dict[str, Any]:
    resp = await register(system, desk_body(**over), user)
    assert resp.status_code == 201, resp.text
    return resp.json()


async def to_reply(system: Any, case_id: str, text: str, user: str = "d001", unit: str = "620602107") -> dict[str, Any]:
    """Grade, assign, resolve (mediated) and reply to a case; returns the replied case."""
    for action, body in (
        ("grade", {}),
        ("assign", {"unit": unit}),
        ("resolve", {"outcome": "mediated", "note": "双方达成调解协议"}),
        ("reply", {"text": text}),
    ):
        resp = await act(system, user, case_id, action, body)
        assert resp.status_code == 200, (action, resp.text)
    return resp.json()
