"""SQL of the case-access question: is any case made of these reports in the caller's scope?"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.cases.case.repository import scope_params, scope_sql


async def any_case_visible(session: AsyncSession, report_ids: list[uuid.UUID], scope: dict[str, Any]) -> bool:
    sql = f"""SELECT EXISTS (SELECT 1 FROM cases.case_reports r JOIN cases.cases c ON c.id = r.case_id
                             WHERE r.report_id = ANY(:ids) AND {scope_sql(scope)})"""
    return bool((await session.execute(text(sql), {"ids": report_ids, **scope_params(scope)})).scalar())
