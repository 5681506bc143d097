"""What the attachment routes share: the tus route class, the Tus-Resumable check, and the store and
upload limits from intake's context."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Header, Request, Response
from fastapi.routing import APIRoute

from services.intake.attachment.exceptions import TusVersionUnsupported, UploadersOnly
from services.intake.attachment.schemas import TUS_HEADERS, TUS_VERSION
from services.intake.attachment.service import UPLOADERS, UploadPolicy
from services.intake.attachment.storage import AttachmentStore
from services.intake.context import IntakeCtx
from services.intake.device.dependencies import ActivePrincipal
from shared.auth import Principal
from shared.errors import Problem


class TusRoute(APIRoute):
    """Every answer of these routes, errors included, carries Tus-Resumable."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def tus_handler(request: Request) -> Response:
            try:
                response = await handler(request)
            except Problem as exc:
                exc.headers = {**exc.headers, **TUS_HEADERS}
                raise
            response.headers.setdefault("Tus-Resumable", TUS_VERSION)
            return response

        return tus_handler


async def _tus_resumable(tus_resumable: Annotated[str | None, Header(alias="Tus-Resumable")] = None) -> None:
    if tus_resumable != TUS_VERSION:
        raise TusVersionUnsupported(TUS_VERSION)


def _store(ctx: IntakeCtx) -> AttachmentStore:
    return ctx.store


def _policy(ctx: IntakeCtx) -> UploadPolicy:
    return ctx.upload_policy


TusRequest = Depends(_tus_resumable)
Store = Annotated[AttachmentStore, Depends(_store)]
Policy = Annotated[UploadPolicy, Depends(_policy)]


async def _uploader(principal: ActivePrincipal) -> Principal:
    """Who uploads: a grid worker on a phone that is not revoked, a dispatcher or department staff (case
    documents); anyone else finds no such thing."""
    if principal.role not in UPLOADERS:
        raise UploadersOnly()
    return principal


Uploader = Annotated[Principal, Depends(_uploader)]
