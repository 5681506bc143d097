"""Contacting the party within the hour needs the phone: the case read stays masked, a dispatcher in
scope may reveal the parties with a reason, and each reveal is on the timeline and in the audit log
(the answer is never cached); leaders and other townships may not."""

from __future__ import annotations

import logging

from tests.cases.factories import make_case
from tests.cases.helpers import case, timeline_actions
from tests.support import rows, scalar

REASON = "电话联系当事人核实情况"


async def reveal(system, user, case_id, body=None, **kwargs):
    return await system.http.post(
        f"{system.cases_url}/v1/cases/{case_id}/parties/reveal",
        headers=await system.auth(user),
        json={"reason": REASON} if body is None else body,
        **kwargs,
    )


async def test_dispatcher_reveals_parties_and_the_look_is_on_the_timeline(system, caplog):
    case_id, item = await make_case(system, flags=[], category="neighbour")
    applicant = item["parties"][0]
    masked = (await case(system, case_id))["parties"][0]
    assert masked["phone"] != applicant["phone"] and masked["id_number"] != applicant["id_number"]
    with caplog.at_level(logging.DEBUG):
        r = await reveal(system, "d001", case_id)
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    shown = r.json()["parties"][0]
    assert (shown["name"], shown["phone"], shown["id_number"]) == (
        applicant["name"],
        applicant["phone"],
        applicant["id_number"],
    )
    assert applicant["phone"] not in caplog.text and applicant["id_number"] not in caplog.text
    tl = (await case(system, case_id, "admin"))["timeline"]
    entry = next(t for t in tl if t["action"] == "reveal_parties")
    assert entry["actor"] == "dispatcher:d001"
    assert (await case(system, case_id))["parties"][0]["phone"] == masked["phone"]
    audit = await rows(
        system.cases_app.state.db,
        "SELECT actor, action, object_type, reason, at FROM cases.audit_log WHERE object_id = :id",
        id=case_id,
    )
    assert [(a.actor, a.action, a.object_type, a.reason) for a in audit] == [
        ("dispatcher:d001", "reveal_parties", "case", REASON)
    ]


async def test_a_reveal_without_a_reason_is_422_naming_the_reason_and_reveals_nothing(system):
    case_id, _ = await make_case(system, flags=[], category="neighbour")
    url = f"{system.cases_url}/v1/cases/{case_id}/parties/reveal"
    hdrs = await system.auth("d001")
    for attempt in (
        system.http.post(url, headers=hdrs),
        system.http.post(url, headers=hdrs, json={}),
        system.http.post(url, headers=hdrs, json={"reason": "  "}),
    ):
        r = await attempt
        assert r.status_code == 422, r.text
        assert [e["loc"] for e in r.json()["errors"]] == [["body", "reason"]]
        assert "parties" not in r.json()
    assert "reveal_parties" not in await timeline_actions(system, case_id)
    assert (
        await scalar(
            system.cases_app.state.db, "SELECT count(*) FROM cases.audit_log WHERE object_id = :id", id=case_id
        )
        == 0
    )


async def test_leader_and_other_township_cannot_reveal_parties(system):
    case_id, _ = await make_case(system, flags=[], category="neighbour")
    assert (await reveal(system, "l001", case_id)).status_code == 403
    assert (await reveal(system, "d101", case_id)).status_code == 404
    assert (await reveal(system, "s001", case_id)).status_code == 404
    assert "reveal_parties" not in await timeline_actions(system, case_id)
