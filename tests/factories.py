"""Small factories for realistic reports."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone
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
        "captured_at": datetime.now(timezone.utc).isoformat(),
        "parties": [
            {"name": "王某", "id_number": "11010519491231002X", "phone": "13912340001", "role": "applicant"},
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
