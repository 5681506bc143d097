"""Showing a case's parties unmasked (to phone them within the hour): only a centre's dispatcher (or an
admin) in scope may, and every look is a timeline entry (an audit trail). Nothing here is logged."""

from __future__ import annotations

import uuid
from typing import Any

from services.cases.case import repository as repo
from services.cases.case.actions import actor_name, load_for_action
from services.cases.case.schemas import PartiesRevealed, PartyOut
from shared.auth import Principal
from shared.clock import clock
from shared.pii import PiiCipher


def plain_party(cipher: PiiCipher, p: dict[str, Any]) -> PartyOut:
    return PartyOut(
        name=p.get("name"),
        role=p.get("role"),
        relation=p.get("relation"),
        id_number=cipher.decrypt(p.get("id_number_enc")),
        phone=cipher.decrypt(p.get("phone_enc")),
    )


async def reveal_parties(session: Any, principal: Principal, case_id: uuid.UUID, cipher: PiiCipher) -> PartiesRevealed:
    case = await load_for_action(session, principal, case_id)  # 404 out of scope, 403 for a leader
    parties = list(case.parties or [])
    await repo.add_timeline(
        session,
        case.id,
        clock.now(),
        actor_name(principal),
        "reveal_parties",
        case.state,
        case.state,
        f"查看当事人完整信息（{len(parties)} 人）",
        None,
    )
    return PartiesRevealed(
        case_id=str(case.id), case_number=case.number, parties=[plain_party(cipher, p) for p in parties]
    )
