"""A cases router's guard: a department system whose client has been disabled (org document
`active: false`) is refused with the token it still holds, not only when it asks for a new one."""

from __future__ import annotations

from typing import Any

from fastapi import Depends

from services.cases.identity import service
from shared.auth import CurrentPrincipal
from shared.db import DbSession


async def _active_client(principal: CurrentPrincipal, session: DbSession) -> None:
    await service.ensure_client_active(session, principal)


ActiveClient: Any = Depends(_active_client)
"""`APIRouter(dependencies=[ActiveClient])` on the routers a department system calls."""
