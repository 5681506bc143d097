"""tus `X-HTTP-Method-Override`: a POST to an upload carrying `X-HTTP-Method-Override: PATCH|DELETE|HEAD`
is handled as that method (tus 1.0.0 requires it, for clients behind proxies that pass only GET and
POST; tus-java-client falls back to it). Pure ASGI, so routing sees the method the client meant."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

UPLOADS_PATH = "/v1/attachments/uploads/"
OVERRIDABLE = frozenset({"PATCH", "DELETE", "HEAD"})
HEADER = b"x-http-method-override"


class TusMethodOverride:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and UPLOADS_PATH in scope.get("path", ""):
            wanted = next((v for k, v in scope["headers"] if k == HEADER), None)
            method = wanted.decode("latin-1").strip().upper() if wanted else ""
            if method in OVERRIDABLE:
                scope = {**scope, "method": method}
        await self.app(scope, receive, send)
