"""Demo cases for a newcomer's first dashboard (`python -m services.cases seed-demo`): four weeks of cases
in the demo org — every channel, grades, departments reporting in on time and late, mediations settled
and failed, revisits satisfied and not, a few escalated — made through the real case actions on a moved
clock, so clocks, timelines and rollups are what they would be. Idempotent: each demo case comes from a
fixed report id, and one already there is left alone."""

from __future__ import annotations

import random
import sys
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from services.cases.case.action import schemas as bodies
from services.cases.case.action.service import perform
from services.cases.case.domain import CaseDomain
from services.cases.case.service import create_from_report
from services.cases.deadline.jobs import sweep
from services.cases.whistle import service as whistle_service
from shared.auth import Principal
from shared.clock import CHINA_TZ, ManualClock, clock
from shared.contracts.events import ReportSubmitted
from shared.db import Database

NAMESPACE = uuid.UUID("6f1c0d58-8b9e-4a53-9a53-64656d6f2d38")
GRIDS = {  # grid → (reporting worker username, township, lead departments)
    "620602107201-01": ("w001", "620602107", ("PS-DL", "SF-DL")),
    "620602107202-01": ("w002", "620602107", ("SF-DL", "PS-DL")),
    "620602108201-01": ("w101", "620602108", ("PS-SCH",)),
}
CHANNELS = ["grid"] * 5 + ["visit", "phone", "letter", "hotline_12345", "online"]
CATEGORIES = ["neighbour", "family", "land", "housing", "debt", "wages", "property_mgmt", "traffic", "consumer"]
TITLES = {
    "neighbour": "邻里宅基地边界纠纷",
    "family": "婚姻家庭矛盾",
    "land": "土地承包经营权纠纷",
    "housing": "房屋漏水引发纠纷",
    "debt": "民间借贷纠纷",
    "wages": "农民工工资拖欠",
    "property_mgmt": "物业费纠纷",
    "traffic": "交通事故赔偿纠纷",
    "consumer": "消费维权纠纷",
}
ADMIN = Principal(subject="seed-demo", role="admin", username="seed-demo", name="演示数据")


def _dept(code: str) -> Principal:
    return Principal(subject=f"seed-{code}", role="department_system", username=code.lower(), department=code)


async def seed(
    db: Database, domain: CaseDomain, cases: int = 120, days: int = 28, progress: Callable[[str], None] | None = None
) -> int:
    """Make the demo cases that are not there yet; returns how many were made."""
    say = progress or (lambda line: sys.stderr.write(line + "\n"))
    rnd = random.Random(8)
    end = datetime.now(CHINA_TZ).replace(hour=8, minute=0, second=0, microsecond=0)
    start = end - timedelta(days=days)
    plans = []
    for i in range(cases):
        grid = list(GRIDS)[i % len(GRIDS)]
        at = start + timedelta(days=(i * days) // cases, minutes=rnd.randint(0, 9 * 60))
        plans.append((i, grid, at, rnd.random(), rnd.choice(CHANNELS), rnd.choice(CATEGORIES), rnd.random()))
    made = 0
    moved = ManualClock(start)
    clock.use(moved)
    try:
        for n, (i, grid, at, luck, channel, category, fate) in enumerate(sorted(plans, key=lambda p: p[2]), 1):
            moved.set(at)
            case_id = await _create(db, domain, i, grid, at, channel, category, luck)
            if case_id is not None:
                made += 1
                await _live(db, domain, moved, case_id, grid, fate, luck, end)
            if n % 10 == 0 or n == cases:
                say(f"seed-demo: {n}/{cases} 个演示案件（新建 {made}）")
        moved.set(datetime.now(CHINA_TZ))
        await sweep(db, domain.deadlines)
    finally:
        clock.reset()
    return made


async def _create(
    db: Database, domain: CaseDomain, i: int, grid: str, at: datetime, channel: str, category: str, luck: float
) -> uuid.UUID | None:
    worker = GRIDS[grid][0]
    report = ReportSubmitted(
        report_id=str(uuid.uuid5(NAMESPACE, f"demo-{i}")),
        report_no=f"RDEMO-{i:05d}",
        worker_id=worker,
        device_id=f"demo-{worker}",
        kind="dispute",
        category=category,
        title=TITLES[category],
        description=f"演示数据：{TITLES[category]}（第 {i + 1} 件）",
        grid=grid,
        occurred_at=(at - timedelta(hours=2)).isoformat(),
        received_at=at.isoformat(),
        people_involved=12 if luck > 0.92 else 2,
        amount_cny="120000" if luck > 0.95 else "3000",
        flags=["group_gathering"] if luck > 0.97 else [],
    )
    async with db.unit_of_work() as session:
        return await create_from_report(session, report, domain, channel=channel)


async def _act(db: Database, domain: CaseDomain, case_id: uuid.UUID, action: str, body: dict[str, Any]) -> None:
    async with db.unit_of_work() as session:
        await perform(session, domain, ADMIN, case_id, action, bodies.BODIES[action].model_validate(body))


async def _whistle(db: Database, domain: CaseDomain, case_id: uuid.UUID, dept: str, move: str) -> None:
    async with db.unit_of_work() as session:
        whistles = await whistle_service.whistles_of_case(session, case_id)
        w = next(w for w in reversed(whistles) if w.department_code == dept)
        await whistle_service.act(session, domain, _dept(dept), w.id, move, None)


async def _live(
    db: Database,
    domain: CaseDomain,
    moved: ManualClock,
    case_id: uuid.UUID,
    grid: str,
    fate: float,
    luck: float,
    end: datetime,
) -> None:
    """One case's life, as far as its age allows: contact, grade, whistle, report in (on time or late),
    resolve, reply, revisit, close."""

    def step(minutes: float) -> bool:
        moved.advance(minutes=minutes)
        return moved.now() < end

    async def late(minutes: float) -> bool:  # let the deadlines breach before the act
        ok = step(minutes)
        await sweep(db, domain.deadlines)
        return ok

    if not (await late(90) if luck < 0.15 else step(20)):
        return
    await _act(db, domain, case_id, "contact", {"note": "已电话联系当事人"})
    await _act(db, domain, case_id, "grade", {})
    if luck > 0.9 and step(10):
        await _act(db, domain, case_id, "escalate", {"reason": "涉及多方，提请上级协调"})
    dept = GRIDS[grid][2][int(fate * 10) % len(GRIDS[grid][2])]
    await _act(
        db, domain, case_id, "whistle", {"departments": [{"code": dept, "role": "lead"}], "reason": "请牵头办理"}
    )
    if not (await late(100) if fate < 0.25 else step(30)):
        return
    await _whistle(db, domain, case_id, dept, "ack")
    if not step(60 * 20):
        return
    await _whistle(db, domain, case_id, dept, "progress")
    if not step(60 * 24):
        return
    await _whistle(db, domain, case_id, dept, "done")
    outcome = (
        "mediated"
        if fate < 0.55
        else "mediation_failed"
        if fate < 0.65
        else "administrative"
        if fate < 0.85
        else "withdrawn"
    )
    mediators = (["M-DL-01"] if grid.startswith("620602107") else ["M-SCH-01"]) if outcome == "mediated" else []
    if outcome == "mediated" and grid == "620602107201-01" and luck > 0.5:
        mediators.append("M-DL-02")
    if not step(60):
        return
    await _act(db, domain, case_id, "resolve", {"outcome": outcome, "mediators": mediators})
    if not step(60 * 5):
        return
    await _act(db, domain, case_id, "reply", {"text": "已答复当事人办理结果"})
    if not step(60 * 24 * 2):
        return
    satisfaction = "dissatisfied" if luck > 0.85 else "basically_satisfied" if luck > 0.6 else "satisfied"
    await _act(db, domain, case_id, "revisit", {"satisfaction": satisfaction})
    if satisfaction != "dissatisfied" and step(60):
        await _act(db, domain, case_id, "close", {})
