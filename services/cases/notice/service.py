"""督办通知书 / 风险预警通知书: records with a number, a unit that must answer, and a state."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from services.cases.case import repository as case_repo
from services.cases.notice import repository as repo
from shared.clock import CHINA_TZ

KIND_ZH = {
    "contact": "联系当事人",
    "major_report": "重大事项报告",
    "acknowledge": "部门报到",
    "resolve": "办结",
    "reply": "答复",
    "first_response": "首次回应",
    "update": "进展更新",
    "revisit": "回访",
}
RESPONSE_TIME = timedelta(days=1)
_TIER_LEVEL = {"village": "township", "township": "township", "county": "county"}
# Clocks that run against the responsible unit (a department once whistled); the others (contact,
# major report, reply, revisit) are the handling centre's own duty.
UNIT_KINDS = ("acknowledge", "resolve", "first_response", "update")


async def tier_centre(session: Any, case: Any) -> str:
    """The centre that handles the case at its tier (村/镇/县综治中心), as an area code."""
    levels = await case_repo.area_levels(session, list(case.area_path))
    tier = case.tier or "township"
    return levels.get(tier) or levels.get("township") or case.area_path[0]


async def supervising_area(session: Any, case: Any) -> tuple[str, str]:
    """The centre that supervises: the township's (or the county's for county-tier cases)."""
    levels = await case_repo.area_levels(session, list(case.area_path))
    want = _TIER_LEVEL.get(case.tier or "township", "township")
    code = levels.get(want) or levels.get("county") or case.area_path[0]
    return code, (await case_repo.area_name(session, code)) or code


async def issue_supervision(session: Any, case: Any, deadline: Any, now: datetime) -> dict[str, Any]:
    area_code, area_name = await supervising_area(session, case)
    year = now.astimezone(CHINA_TZ).year
    n = await repo.next_number(session, area_code, year, "supervision")
    unit = (
        deadline.department_code
        or (case.responsible_unit if deadline.kind in UNIT_KINDS else None)
        or await tier_centre(session, case)
    )
    kind_zh = KIND_ZH.get(deadline.kind, deadline.kind)
    due_local = deadline.due_at.astimezone(CHINA_TZ).strftime("%Y年%m月%d日%H:%M")
    row = {
        "id": uuid.uuid4(),
        "number": f"{area_name}督〔{year}〕{n}号",
        "kind": "supervision",
        "case_id": case.id,
        "deadline_id": deadline.id,
        "area_code": area_code,
        "unit": unit,
        "subject": f"关于案件{case.number}{kind_zh}超时的督办通知",
        "body": (
            f"{unit}：案件{case.number}（{case.title or ''}）的{kind_zh}时限已于{due_local}届满仍未完成。"
            f"请于收到本通知后{int(RESPONSE_TIME.total_seconds() // 3600)}小时内办理并书面答复。"
        ),
        "issued_at": now,
        "respond_by": now + RESPONSE_TIME,
    }
    await repo.insert(session, row)
    return row


def notice_out(n: Any) -> dict[str, Any]:
    return {
        "id": str(n.id),
        "number": n.number,
        "kind": n.kind,
        "state": n.state,
        "case_id": str(n.case_id) if n.case_id else None,
        "deadline_id": str(n.deadline_id) if n.deadline_id else None,
        "area": n.area_code,
        "unit": n.unit,
        "subject": n.subject,
        "body": n.body,
        "issued_at": n.issued_at,
        "respond_by": n.respond_by,
        "answer": n.answer,
        "answered_at": n.answered_at,
        "answered_by": n.answered_by,
        "closed_at": n.closed_at,
        "closed_by": n.closed_by,
    }


async def issue_risk_warning(session: Any, case: Any, subject: Any, now: datetime) -> dict[str, Any]:
    """风险预警通知书: a person or household has become high-risk; the supervising centre is warned and
    must answer with its plan (e.g. scheduled visits)."""
    area_code, area_name = await supervising_area(session, case)
    year = now.astimezone(CHINA_TZ).year
    n = await repo.next_number(session, area_code, year, "risk_warning")
    row = {
        "id": uuid.uuid4(),
        "number": f"{area_name}预〔{year}〕{n}号",
        "kind": "risk_warning",
        "case_id": case.id,
        "deadline_id": None,
        "area_code": area_code,
        "unit": area_code,
        "subject": f"关于{subject.name or '当事人'}列为高风险人员的风险预警通知",
        "body": (
            f"{area_name}综治中心：{subject.name or '当事人'}已涉及{subject.case_count}起案件（最新为{case.number}），"
            f"风险等级升为高。请落实包保责任人，安排定期走访，并于{int(RESPONSE_TIME.total_seconds() // 3600)}小时内答复。"
        ),
        "issued_at": now,
        "respond_by": now + RESPONSE_TIME,
    }
    await repo.insert(session, row)
    return row
