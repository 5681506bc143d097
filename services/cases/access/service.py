"""The internal case-access question: asked by intake before it hands out a photo to a department (it
cannot know which departments a case was whistled to 吹哨). Answered with the case domain's scope rules."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.cases.case import service as cases
from services.cases.case.exceptions import NoCaseScope
from shared.auth import Principal
from shared.contracts.access import CaseAccessAnswer, CaseAccessQuery


async def case_access(session: AsyncSession, query: CaseAccessQuery) -> CaseAccessAnswer:
    caller = Principal(subject="-", role=query.role, department=query.department, areas=tuple(query.areas))
    try:
        scope = cases.scope_of(caller)
    except NoCaseScope:  # roles that see no case through cases (grid workers use the phone API)
        return CaseAccessAnswer(visible=False)
    visible = bool(query.report_ids) and await cases.any_case_visible(session, query.report_ids, scope)
    if not visible and query.case_ids:
        visible = await cases.any_of_cases_visible(session, query.case_ids, scope)
    return CaseAccessAnswer(visible=visible)
