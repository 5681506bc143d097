"""The cases service's typed context: what its routes, event handlers and ticks use, built once at
startup (main.py) instead of `app.state` lookups.

The case domain (grading rules + the deadline engine) needs the workday calendar from the database;
while the database is away at boot it is not there yet (`loaded_domain` is None, startup.py keeps
trying) and `domain` answers 503 — the request frame already answers 503 to every route then, so in
practice only ticks meet it, and they ask `ready` first.

Routes: `ctx: CasesCtx`; event handlers get the context as their third argument."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends

from services.cases.case.domain import CaseDomain
from services.cases.config import CasesSettings
from services.cases.document.clients import AttachmentGrantClient
from services.cases.identity.keys import SigningKey
from services.cases.identity.service import TokenIssuer
from shared.context import ServiceContext, context_dependency
from shared.errors import ServiceUnavailable
from shared.outbox import Relay
from shared.pii import PiiCipher

WAITING_FOR_DATABASE = "数据库暂不可用，工作日历尚未加载；连上数据库后自动恢复"


@dataclass
class CasesContext(ServiceContext):
    settings: CasesSettings
    cipher: PiiCipher
    signing_key: SigningKey
    issuer: TokenIssuer
    relay: Relay
    attachment_grants: AttachmentGrantClient  # asks intake to confirm an uploaded file and grant its fetch
    loaded_domain: CaseDomain | None = None  # None until the workday calendar is loaded (startup.py)
    retime_owed: bool = False  # a calendar change here skipped cases an action held: the refresh tick re-times

    @property
    def ready(self) -> bool:
        return self.loaded_domain is not None

    @property
    def domain(self) -> CaseDomain:
        """The grading rules and the deadline engine; 503 while the database has been away since boot."""
        if self.loaded_domain is None:
            raise ServiceUnavailable(WAITING_FOR_DATABASE)
        return self.loaded_domain


CasesCtx = Annotated[CasesContext, Depends(context_dependency(CasesContext))]
