"""What each centre must know in the morning: what is overdue and what falls due today (for notify's
daily digest), served on /internal/v1/digest."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Query, Request
from sqlalchemy import text

from services.cases.deadline.repository import overdue_sql, owed_sql
from shared.auth import ServiceCaller
from shared.clock import CHINA_TZ, clock

router = APIRouter(prefix="/internal/v1", tags=["internal"], dependencies=[ServiceCaller])

_OVERDUE = overdue_sql("d", "now")
_DIGEST = text(
    f"""SELECT a.code, a.name, a.level,
               count(*) FILTER (WHERE {_OVERDUE}) AS overdue,
               count(DISTINCT c.id) FILTER (WHERE {_OVERDUE}) AS overdue_case_count,
               count(*) FILTER (WHERE d.state = 'pending' AND d.due_at >= :now AND d.due_at < :eod) AS due_today,
               (array_agg(DISTINCT c.number) FILTER (WHERE {_OVERDUE}))[1:CAST(:cap AS int)] AS overdue_cases
        FROM cases.areas a
        JOIN cases.cases c ON c.area_path @> ARRAY[a.code]
        JOIN cases.deadlines d ON d.case_id = c.id
        WHERE a.level IN ('township', 'county') AND c.state NOT IN ('closed', 'merged', 'rejected') AND {owed_sql("d")}
        GROUP BY a.code, a.name, a.level ORDER BY a.code"""
)


@router.get("/digest", summary="Per centre: overdue clocks (and their cases) and clocks due today (China time)")
async def digest(request: Request, cases_per_centre: int = Query(50, ge=0, le=5000)) -> dict[str, Any]:
    now = clock.now()
    local = now.astimezone(CHINA_TZ)
    end_of_day = datetime(local.year, local.month, local.day, tzinfo=CHINA_TZ) + timedelta(days=1)
    async with request.app.state.db.unit_of_work() as session:
        rows = await session.execute(_DIGEST, {"now": now, "eod": end_of_day, "cap": cases_per_centre})
        centres = [
            # overdue: the overdue clocks; overdue_case_count: the cases they belong to, of which overdue_cases
            # names at most cases_per_centre
            {
                "area": r.code,
                "name": r.name,
                "level": r.level,
                "overdue": r.overdue,
                "overdue_case_count": r.overdue_case_count,
                "due_today": r.due_today,
                "overdue_cases": list(r.overdue_cases or []),
            }
            for r in rows
        ]
    return {"date": local.date().isoformat(), "centres": centres}
