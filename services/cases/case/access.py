"""Whether a caller may see the case of some reports: asked by intake before it hands out a photo to a
department (it cannot know which departments a case was whistled to 吹哨)."""

from __future__ import annotations

from typing import Any

from services.cases.case import access_repository as repo
from services.cases.case.service import scope_of
from shared.auth import Principal
from shared.contracts.access import CaseAccessAnswer, CaseAccessQuery
from shared.errors import NotFound


async def case_access(session: Any, query: CaseAccessQuery) -> CaseAccessAnswer:
    caller = Principal(subject="-", role=query.role, department=query.department, areas=tuple(query.areas))
    try:
        scope = scope_of(caller)
    except NotFound:  # roles that see no case through cases (grid workers use the phone API)
        return CaseAccessAnswer(visible=False)
    return CaseAccessAnswer(visible=await repo.any_case_visible(session, query.report_ids, scope))
