"""A grid worker on a phone that has not been revoked (lost phones are refused everywhere)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from services.intake.context import IntakeCtx
from services.intake.device import service
from shared.auth import CurrentPrincipal, Principal


async def _refuse_revoked_device(ctx: IntakeCtx, principal: Principal) -> None:
    if principal.device_id:
        async with ctx.db.unit_of_work() as session:
            await service.refuse_if_revoked(session, principal.device_id)


async def active_grid_worker(principal: CurrentPrincipal, ctx: IntakeCtx) -> Principal:
    service.require_grid_worker(principal)
    await _refuse_revoked_device(ctx, principal)
    return principal


async def active_principal(principal: CurrentPrincipal, ctx: IntakeCtx) -> Principal:
    """Anyone signed in; a grid worker only from a phone that has not been revoked."""
    if principal.role == "grid_worker":
        await _refuse_revoked_device(ctx, principal)
    return principal


ActiveGridWorker = Annotated[Principal, Depends(active_grid_worker)]
ActivePrincipal = Annotated[Principal, Depends(active_principal)]
