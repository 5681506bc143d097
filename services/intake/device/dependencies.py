"""A grid worker on a phone that has not been revoked (lost phones are refused everywhere)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from services.intake.device import repository
from shared.auth import CurrentPrincipal, Principal
from shared.errors import Forbidden, NotFound


async def _refuse_revoked_device(request: Request, principal: Principal) -> None:
    if principal.device_id:
        async with request.app.state.db.unit_of_work() as session:
            if await repository.revoked_at(session, principal.device_id):
                raise Forbidden("该设备已停用，请重新绑定设备", code="device_revoked")


async def active_grid_worker(request: Request, principal: CurrentPrincipal) -> Principal:
    if principal.role != "grid_worker":
        raise NotFound()
    await _refuse_revoked_device(request, principal)
    return principal


async def active_principal(request: Request, principal: CurrentPrincipal) -> Principal:
    """Anyone signed in; a grid worker only from a phone that has not been revoked."""
    if principal.role == "grid_worker":
        await _refuse_revoked_device(request, principal)
    return principal


ActiveGridWorker = Annotated[Principal, Depends(active_grid_worker)]
ActivePrincipal = Annotated[Principal, Depends(active_principal)]
