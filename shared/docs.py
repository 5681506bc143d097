"""/docs (Swagger UI) and /redoc from assets vendored in `shared/static/docs/`, never from a CDN: government
intranets do not reach one. They came from the npm registry; `shared/static/docs/VERSIONS` says which
releases and how to refresh them."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS_DIR = Path(__file__).with_name("static") / "docs"
ASSETS_PATH = "/docs/assets"
DOCS_PATH = "/docs"
OAUTH2_REDIRECT_PATH = "/docs/oauth2-redirect"
REDOC_PATH = "/redoc"


def install_docs(app: FastAPI) -> None:
    """Serve the docs pages and their assets from this process. The app is built with
    `docs_url=None, redoc_url=None` so FastAPI's CDN-linked pages are not there."""

    def openapi_url(request: Request) -> str:
        return request.scope.get("root_path", "").rstrip("/") + (app.openapi_url or "/openapi.json")

    def asset(request: Request, name: str) -> str:
        return request.scope.get("root_path", "").rstrip("/") + f"{ASSETS_PATH}/{name}"

    async def swagger_ui(request: Request) -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url(request),
            title=f"{app.title} - Swagger UI",
            swagger_js_url=asset(request, "swagger-ui-bundle.js"),
            swagger_css_url=asset(request, "swagger-ui.css"),
            swagger_favicon_url=asset(request, "favicon-32x32.png"),
            oauth2_redirect_url=request.scope.get("root_path", "").rstrip("/") + OAUTH2_REDIRECT_PATH,
        )

    async def oauth2_redirect(request: Request) -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    async def redoc(request: Request) -> HTMLResponse:
        return get_redoc_html(
            openapi_url=openapi_url(request),
            title=f"{app.title} - ReDoc",
            redoc_js_url=asset(request, "redoc.standalone.js"),
            redoc_favicon_url=asset(request, "favicon-32x32.png"),
            with_google_fonts=False,
        )

    app.add_route(DOCS_PATH, swagger_ui, include_in_schema=False)
    app.add_route(OAUTH2_REDIRECT_PATH, oauth2_redirect, include_in_schema=False)
    app.add_route(REDOC_PATH, redoc, include_in_schema=False)
    app.mount(ASSETS_PATH, StaticFiles(directory=ASSETS_DIR), name="docs-assets")
