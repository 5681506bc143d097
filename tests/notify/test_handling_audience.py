"""Notify's `centre` audience is the case's handling centre(s) (承办中心) the event names — not the nearest
centre with dispatchers — and a major case also reaches the county centre's dispatchers. Demo directory:
小柳村 (620602107202) has its own centre (d202), 大柳镇 d001, the county centre dc001, the county leader l001."""

from __future__ import annotations

import uuid
from typing import Any

from tests.notify.factories import case_event
from tests.notify.helpers import messages, send

XIAOLIU_PATH = ["620602", "620602107", "620602107202", "620602107202-01"]


async def centre_told(system: Any, **fields: Any) -> set[str]:
    case_id = str(uuid.uuid4())
    await send(
        system,
        case_event(
            "whistle.returned", case_id, **({"area_path": XIAOLIU_PATH} | fields), department="PS-DL", role="lead"
        ),
    )
    return {r.recipient for r in await messages(system, case_id) if r.rule == "whistle_returned_centre"}


async def test_centre_audience_is_the_handling_centre_not_the_nearest_one(system, notify_app):
    assert await centre_told(system, handling=["620602107202"]) == {"user:d202"}
    # a complex or escalated case of the village is the township's: the village centre is not told
    assert await centre_told(system, handling=["620602107"]) == {"user:d001"}
    assert await centre_told(system, handling=["620602"]) == {"user:dc001"}


async def test_a_jointly_handled_case_tells_both_centres(system, notify_app):
    assert await centre_told(system, handling=["620602", "620602107"]) == {"user:dc001", "user:d001"}


async def test_an_event_without_a_handling_centre_goes_to_the_nearest_centre(system, notify_app):
    assert await centre_told(system) == {"user:d202"}


async def test_a_handling_centre_without_dispatchers_in_the_directory_passes_to_the_next_one_up(system, notify_app):
    assert await centre_told(system, handling=["620602108"], area_path=["620602", "620602108"]) == {"user:d101"}
    nobody = ["620602", "620602107", "620602107201", "620602107201-01"]  # 大柳村: no centre of its own
    assert await centre_told(system, handling=["620602107201"], area_path=nobody) == {"user:d001"}


async def test_a_major_case_reaches_the_county_centre_s_dispatchers_and_leaders(system, notify_app):
    case_id = str(uuid.uuid4())
    await send(system, case_event("case.major", case_id, level="major", area_path=XIAOLIU_PATH, handling=["620602107"]))
    told = {(r.channel, r.recipient) for r in await messages(system, case_id) if r.rule == "major_case"}
    assert {("inbox", "user:dc001"), ("inbox", "user:l001"), ("inbox", "user:d001")} <= told
    assert not any(recipient == "user:d202" for _, recipient in told)
