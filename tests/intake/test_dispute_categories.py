"""The dispute categories are data: DOMAIN.md's list by default, extended and retired through the org
document in cases, sent to the phones as reference data (with their zh-CN names), and used to check a
dispute's category at push (an unknown one is rejected naming `category`) and in cases."""

from __future__ import annotations

import uuid

import pytest

from services.cases.category import service as categories
from services.cases.category.exceptions import UnknownCategory
from tests.cases.factories import import_org
from tests.intake.factories import report

DEFAULTS = [
    ("family", "婚姻家庭"),
    ("neighbour", "邻里"),
    ("land", "土地山林"),
    ("housing", "房屋宅基地"),
    ("debt", "债务"),
    ("wages", "劳资欠薪"),
    ("property_mgmt", "物业"),
    ("traffic", "交通事故"),
    ("medical", "医疗"),
    ("consumer", "消费"),
    ("expropriation", "征地拆迁"),
    ("environment", "环境"),
    ("other", "其他"),
]


async def pull(system, cursor: str | None = None) -> dict:
    resp = await system.http.get(
        f"{system.intake_url}/v1/sync/pull",
        params={"cursor": cursor} if cursor else {},
        headers=await system.auth("w001", "dev-w001"),
    )
    assert resp.status_code == 200, resp.text
    return resp.json()


def reference(changes: list[dict]) -> list[dict]:
    return [c["data"] for c in changes if c["type"] == "reference"]


async def push(system, item: dict) -> dict:
    resp = await system.http.post(
        f"{system.intake_url}/v1/sync/push",
        json={"device_id": "dev-w001", "items": [item]},
        headers=await system.auth("w001", "dev-w001"),
    )
    assert resp.status_code == 200, resp.text
    return resp.json()["results"][0]


async def listed(system) -> list[tuple[str, str]]:
    resp = await system.http.get(f"{system.cases_url}/v1/categories", headers=await system.auth("d001"))
    assert resp.status_code == 200, resp.text
    return [(c["code"], c["name"]) for c in resp.json()["items"]]


async def test_phones_get_domain_md_categories_by_default(system):
    snap = await pull(system)
    (ref,) = reference(snap["changes"])
    assert [(c["code"], c["name"]) for c in ref["categories"]] == DEFAULTS
    assert await listed(system) == DEFAULTS


async def test_an_org_document_adds_and_retires_categories_and_phones_and_pushes_follow(system):
    snap = await pull(system)
    earlier = report(category="medical", id=str(uuid.uuid4()))
    assert (await push(system, earlier))["status"] == "accepted"
    resp = await system.http.post(
        f"{system.cases_url}/v1/admin/org",
        json={"categories": [{"code": "school", "name": "校园"}, {"code": "medical", "name": "医疗", "active": False}]},
        headers=await system.auth("admin"),
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["categories"] == {"created": 1, "updated": 1}
    await system.drain()
    try:
        want = [c for c in DEFAULTS if c[0] != "medical"] + [("school", "校园")]
        assert await listed(system) == want
        # every worker's phone gets one reference change with the new list, the same a snapshot gives
        (ref,) = reference((await pull(system, snap["cursor"]))["changes"])
        assert [(c["code"], c["name"]) for c in ref["categories"]] == want
        assert reference((await pull(system))["changes"]) == [ref]

        assert (await push(system, report(category="school")))["status"] == "accepted"
        refused = await push(system, report(category="medical"))
        assert refused["status"] == "rejected"
        assert refused["errors"] == [
            {"loc": ["category"], "msg": "矛盾纠纷的类别 category 不在类别表中", "type": "enum"}
        ]
        # the report stored before the category was retired is still a retry, not a new refusal
        assert (await push(system, earlier))["status"] == "duplicate"
        # other kinds carry their own categories, unchecked
        assert (await push(system, report(kind="hazard", category="fire_safety")))["status"] == "accepted"
    finally:
        await import_org(
            system,
            {"categories": [{"code": "medical", "name": "医疗"}, {"code": "school", "name": "校园", "active": False}]},
        )
    assert await listed(system) == DEFAULTS


@pytest.mark.parametrize(
    ("categories_doc", "loc"),
    [
        ([{"code": "school", "name": "校园"}, {"code": "school", "name": "学校"}], ["body", "categories", 1, "code"]),
        ([{"code": "School!", "name": "校园"}], ["body", "categories", 0, "code"]),
        ([{"code": "school", "name": ""}], ["body", "categories", 0, "name"]),
        ([{"code": "school"}], ["body", "categories", 0, "name"]),
    ],
)
async def test_a_bad_category_list_is_refused_naming_the_field_and_imports_nothing(system, categories_doc, loc):
    resp = await system.http.post(
        f"{system.cases_url}/v1/admin/org", json={"categories": categories_doc}, headers=await system.auth("admin")
    )
    assert resp.status_code == 422, resp.text
    assert loc in [e["loc"] for e in resp.json()["errors"]]
    assert "school" not in [c for c, _ in await listed(system)]


async def test_cases_checks_a_disputes_category_against_the_list(db_session):
    await categories.check(db_session, "dispute", "neighbour", ["body", "category"])
    await categories.check(db_session, "hazard", "fire_safety", ["body", "category"])
    for bad in ("no_such_thing", None):
        with pytest.raises(UnknownCategory) as err:
            await categories.check(db_session, "dispute", bad, ["body", "category"])
        assert err.value.status == 422 and err.value.errors and err.value.errors[0]["loc"] == ["body", "category"]
