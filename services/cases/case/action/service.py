"""The actions of a case's life (POST /v1/cases/{id}/{action}). Each checks who acts and the state,
changes the case, its deadlines and whistles, and records a timeline entry and the events — in the
request's transaction, under the case's row lock. The actions themselves are grouped by stage:
grading.py (研判, 提级), handling.py (交办 … 延期), closing.py (办结 … 重新办理)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from services.cases.case import centre
from services.cases.case.action import closing, deferral, grading, handling
from services.cases.case.action.exceptions import ActionNotAllowed
from services.cases.case.domain import CaseDomain
from services.cases.case.exceptions import NotHandlingCentre
from services.cases.case.machine import allowed_actions
from services.cases.case.models import CaseRow
from services.cases.case.service import get_case, load_for_action
from services.cases.idempotency.service import once
from services.cases.principal import actor_name
from services.cases.vocabulary import ACTION_ZH, STATE_ZH
from shared.auth import Principal
from shared.clock import clock
from shared.pii import PiiCipher

ActionHandler = Callable[[AsyncSession, CaseDomain, Principal, CaseRow, Any, datetime], Awaitable[None]]

HANDLERS: dict[str, ActionHandler] = {
    "grade": grading.do_grade,
    "assign": handling.do_assign,
    "contact": handling.do_contact,
    "whistle": handling.do_whistle,
    "suspend": handling.do_suspend,
    "resume": handling.do_resume,
    "extend": handling.do_extend,
    "escalate": grading.do_escalate,
    "update": handling.do_update,
    "resolve": closing.do_resolve,
    "reply": closing.do_reply,
    "defer": deferral.do_defer,
    "revisit": closing.do_revisit,
    "close": closing.do_close,
    "merge": closing.do_merge,
    "reject": closing.do_reject,
    "reopen": closing.do_reopen,
}


def check_allowed(case: CaseRow, action: str) -> None:
    allowed = allowed_actions(case.state)
    if action not in allowed:
        raise ActionNotAllowed(
            f"案件处于「{STATE_ZH.get(case.state, case.state)}」状态，不能{ACTION_ZH.get(action, action)}",
            allowed_actions=allowed,
            state=case.state,
        )


def is_decision(action: str, body: BaseModel) -> bool:
    """Everything but a progress update (进展) is a decision of the handling centre (or one above it)."""
    return not (action == "update" and getattr(body, "kind", None) == "progress")


async def check_decider(session: AsyncSession, principal: Principal, case: CaseRow, action: str) -> None:
    """A centre below the handling centre(s) reads and reports progress; its decisions are refused with
    the reason (403: it sees the case)."""
    if centre.may_decide(principal, case.area_path, case.handling or []):
        return
    centres = await centre.centres_of(session, case.area_path)
    mine = centre.acting_centre(principal, case.area_path)
    raise NotHandlingCentre(
        f"本案由{centre.names(centres, case.handling)}承办，{centre.names(centres, [mine] if mine else [])}"
        f"可查看案件、报告进展，不能{ACTION_ZH.get(action, action)}",
        handling=list(case.handling),
    )


async def perform(
    session: AsyncSession, domain: CaseDomain, principal: Principal, case_id: uuid.UUID, action: str, body: BaseModel
) -> uuid.UUID:
    case = await load_for_action(session, principal, case_id)
    if is_decision(action, body):
        await check_decider(session, principal, case, action)
    check_allowed(case, action)
    await HANDLERS[action](session, domain, principal, case, body, clock.now())
    return case.id


async def act(
    session: AsyncSession,
    domain: CaseDomain,
    cipher: PiiCipher,
    principal: Principal,
    case_id: uuid.UUID,
    action: str,
    body: BaseModel,
    idempotency_key: str | None,
) -> Any:
    """Perform one action under Idempotency-Key; answer with the case as it now is (its JSON)."""

    async def run() -> Any:
        await perform(session, domain, principal, case_id, action, body)
        out = await get_case(session, principal, case_id, cipher)
        return out.model_dump(mode="json")

    request = {"case": str(case_id), "action": action, "body": body.model_dump(mode="json")}
    return await once(session, actor_name(principal), idempotency_key, request, run)
