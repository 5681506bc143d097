"""Subjects' risk, and the 风险预警通知书 when someone becomes high-risk."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from services.cases.case import effects
from services.cases.notice.service import issue_risk_warning
from services.cases.subject import repository as repo


async def refresh_risk(session: Any, case: Any, subject_ids: list[uuid.UUID], now: datetime) -> None:
    """Recompute the risk of a case's subjects; each one newly high gets a risk warning notice, recorded
    on the case's timeline and sent to notify (notice.issued). The caller holds the case's row lock."""
    for subject in await repo.recompute_risk(session, subject_ids, now):
        notice = await issue_risk_warning(session, case, subject, now)
        await effects.record(
            session,
            case,
            actor="system:rules",
            action="risk_warning",
            before=case.state,
            after=case.state,
            note=f"发出风险预警通知书 {notice['number']}（{subject.name or '当事人'}）",
            now=now,
            events=[
                (
                    "notice.issued",
                    effects.case_payload(case)
                    | {
                        "notice_id": str(notice["id"]),
                        "number": notice["number"],
                        "notice_kind": "risk_warning",
                        "unit": notice["unit"],
                        "notice_area": notice["area_code"],
                        "subject": notice["subject"],
                        "respond_by": notice["respond_by"].isoformat(),
                    },
                )
            ],
        )
