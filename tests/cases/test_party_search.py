"""What else involves this person: GET /v1/cases?party= by ID number or phone (the keyed hash, never the
name), party_name= by prefix, and related_cases on a case — all within the caller's scope."""

from __future__ import annotations

import uuid

from tests.cases.desk import registered
from tests.cases.factories import ORDINARY, make_case
from tests.cases.helpers import case
from tests.intake.factories import GRID_W001, GRID_W101, id_number, phone
from tests.support import rows


async def search(system, user: str, **params) -> list[dict]:
    resp = await system.http.get(f"{system.cases_url}/v1/cases", params=params, headers=await system.auth(user))
    assert resp.status_code == 200, resp.text
    return resp.json()["items"]


def ids(items: list[dict]) -> set[str]:
    return {i["id"] for i in items}


async def test_party_search_by_id_number_and_by_phone_across_cases_within_scope(system):
    idn, tel = id_number(), phone()
    name = f"孟{uuid.uuid4().hex[:6]}"
    # a grid worker's report in 大柳镇 names the person by ID number and phone …
    from_phone, _ = await make_case(
        system, GRID_W001, **ORDINARY, parties=[{"name": name, "id_number": idn, "phone": tel, "role": "applicant"}]
    )
    # … the desk of 大柳镇 registers a walk-in with the phone only, under another spelling of the name …
    walk_in = await registered(system, channel="visit", parties=[{"name": "孟某", "phone": tel, "role": "applicant"}])
    # … and 三岔河镇's desk a call with the ID number only
    elsewhere = await registered(
        system, "d101", area=GRID_W101, parties=[{"name": name, "id_number": idn, "role": "applicant"}]
    )
    mine = {from_phone, walk_in["id"]}
    found = await search(system, "d001", party=idn)
    assert ids(found) == mine, found  # 三岔河's case is not d001's (the items: to tell an extra one's origin)
    found = await search(system, "d001", party=tel)
    assert ids(found) == mine, found
    assert ids(await search(system, "d001", party=idn.lower())) == mine  # normalised before hashing
    assert ids(await search(system, "l001", party=idn)) == mine | {elsewhere["id"]}  # the county sees all
    assert ids(await search(system, "d101", party=tel)) == {elsewhere["id"]}  # one person, known by both keys
    assert await search(system, "d001", party=name) == []  # never by name
    assert await search(system, "d001", party=id_number()) == []
    # by name: a prefix, within scope
    assert ids(await search(system, "d001", party_name=name[:4])) == {from_phone}
    assert ids(await search(system, "l001", party_name=name)) == {from_phone, elsewhere["id"]}
    assert await search(system, "d001", party_name="%") == []  # a wildcard is a character, not a pattern

    # related cases: the other cases sharing a party (number, state, level), in the caller's scope
    c = await case(system, walk_in["id"], "d001")
    assert [(r["id"], r["state"]) for r in c["related_cases"]] == [(from_phone, "received")]
    related = c["related_cases"][0]
    assert related["number"].startswith("C") and related["level"] in (
        "ordinary",
        "complex",
        "major",
        "petition_backlog",
    )
    county = await case(system, walk_in["id"], "l001")
    assert {r["id"] for r in county["related_cases"]} == {from_phone, elsewhere["id"]}
    assert (await case(system, elsewhere["id"], "d101"))["related_cases"] == []  # 大柳镇's cases are not d101's
    # the list shows them too
    listed = {i["id"]: i for i in await search(system, "l001", party=tel)}
    assert {r["id"] for r in listed[elsewhere["id"]]["related_cases"]} == mine
    # the grade found the same links: the desk case is complex (a party already in an open case)
    assert walk_in["grade"]["level"] == "complex"


async def test_a_party_search_is_in_the_audit_log_without_the_number_itself(system):
    idn = id_number()
    await registered(system, channel="visit", parties=[{"name": "审计某", "id_number": idn, "role": "applicant"}])
    since = (await rows(system.cases_app.state.db, "SELECT now() AS started"))[0].started
    assert len(await search(system, "d001", party=idn)) == 1
    await search(system, "d001", party_name="审计")
    entries = await rows(
        system.cases_app.state.db,
        "SELECT actor, detail FROM cases.audit_log WHERE action = 'search_party' AND at >= :s ORDER BY id",
        s=since,
    )
    assert [e.actor for e in entries] == ["dispatcher:d001", "dispatcher:d001"]
    assert entries[0].detail["found"] == 1 and entries[0].detail["party_keys"]
    assert entries[1].detail == {"party_name_prefix": True, "found": entries[1].detail["found"]}
    assert all(idn not in str(e.detail) and "审计" not in str(e.detail) for e in entries)
