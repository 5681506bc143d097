"""Small factories for realistic reports."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

GRID_W001 = "620602107201-01"
GRID_W002 = "620602107202-01"
GRID_W101 = "620602108201-01"


def report(grid: str = GRID_W001, **over: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "kind": "dispute",
        "category": "wages",
        "title": "工地拖欠农民工工资",
        "description": "某工地拖欠12名工人三个月工资，工人情绪激动",
        "grid": grid,
        "location": {"lat": 37.93, "lon": 102.64, "address": "大柳镇大柳村三组"},
        "occurred_at": "2026-11-20T09:00:00+08:00",
        "captured_at": datetime.now(UTC).isoformat(),
        "parties": [
            {"name": "王某", "id_number": id_number(), "phone": phone(), "role": "applicant"},
            {"name": "某建筑公司", "role": "respondent"},
        ],
        "people_involved": 12,
        "amount_cny": "86000.00",
        "flags": ["group_gathering"],
        "attachments": [],
    }
    item.update(over)
    return item


def batch(n: int, grid: str = GRID_W001) -> list[dict[str, Any]]:
    return [report(grid=grid, title=f"纠纷 {i}") for i in range(n)]


def id_number(seed: int | None = None) -> str:
    """A well-formed resident ID number (GB 11643 check character) that no other test uses."""
    import random

    rnd = random.Random(seed)
    body = (
        "620602"
        + f"{rnd.randint(1950, 2005)}{rnd.randint(1, 12):02d}{rnd.randint(1, 28):02d}"
        + f"{rnd.randint(0, 999):03d}"
    )
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return body + "10X98765432"[sum(int(c) * w for c, w in zip(body, weights, strict=True)) % 11]


def phone() -> str:
    import random

    return "139" + f"{random.randint(0, 99_999_999):08d}"
