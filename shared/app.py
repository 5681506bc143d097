"""The common frame of a service: lifespan (engine, keys, ticks), request id, access log, metrics,
body limit, problem+json, /healthz, /readyz, /metrics."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import orjson
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import BaseModel
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.auth import KeySet, service_caller_of
from shared.db import Database
from shared.docs import ASSETS_PATH, install_docs
from shared.errors import (
    PROBLEM_MEDIA_TYPE,
    UNSTORABLE_TEXT_ERRORS,
    install_problem_handlers,
    is_database_unavailable,
    is_unstorable_text,
    problem_body,
)
from shared.logging import configure_logging, request_id_var
from shared.metrics import Reading, RequestMetrics, mark_process_dead
from shared.scheduling import Tick, Ticker
from shared.schema_version import MigrationTree, SchemaState
from shared.settings import PROJECT_ROOT, ServiceSettings

log = logging.getLogger("shared.app")


def alembic_head() -> str | None:
    return MigrationTree.load(PROJECT_ROOT / "migrations").head


@dataclass
class ServiceSpec:
    name: str
    settings: ServiceSettings
    routers: list[APIRouter]
    ticks: Callable[[FastAPI], list[Tick]] = lambda app: []
    on_startup: list[Callable[[FastAPI], Awaitable[None]]] = field(default_factory=list)
    on_shutdown: list[Callable[[FastAPI], Awaitable[None]]] = field(default_factory=list)
    keys: Callable[[FastAPI], KeySet] | None = None
    # the service's database figures for /metrics, read at scrape time (shared/metrics.py)
    readings: Callable[[FastAPI], Awaitable[list[Reading]]] | None = None
    extra_schemas: list[type[BaseModel]] = field(default_factory=list)  # bodies documented via openapi_extra
    title: str = ""
    description: str = ""
    version: str = "0.1.0"


# Paths that answer while a service is still starting (`app.state.starting` holds why); the others,
# /readyz included, answer 503 with Retry-After until it is done.
ALWAYS_OPEN = frozenset(
    {
        "/healthz",
        "/metrics",
        "/openapi.json",
        "/docs",
        "/docs/oauth2-redirect",
        "/redoc",
        "/.well-known/jwks.json",
        "/.well-known/openid-configuration",
    }
)


KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class RequestFrame:
    """Pure ASGI middleware: request id, access log, metrics, a body size limit, the service credential
    of /internal calls (checked before a byte of their up to 32 MiB bodies is read), and the last line of
    defence that turns an unexpected exception into problem+json (503 when the database is away)."""

    def __init__(
        self,
        app: ASGIApp,
        metrics: RequestMetrics,
        max_body: int,
        internal_max_body: int | None = None,
        service_tokens: dict[str, str] | None = None,
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body = max_body
        self.internal_max_body = internal_max_body or max_body
        self.service_tokens = service_tokens or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        rid = headers.get("x-request-id") or uuid.uuid4().hex
        token = request_id_var.set(rid)
        started = time.perf_counter()
        status_holder = {"status": 500, "started": False}
        limit = scope.get("state", {}).get("max_body") or self.max_body
        path = scope.get("path", "")
        if path.startswith("/v1/attachments"):
            limit = None  # tus enforces its own per-upload limit while streaming
        elif path.startswith("/internal/"):
            limit = self.internal_max_body  # service-to-service batches (the relay's POSTs) may be larger
        declared = headers.get("content-length")

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                status_holder["started"] = True
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", rid.encode())]
            await send(message)

        received = 0

        async def receive_wrapper() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request" and limit is not None:
                received += len(message.get("body", b""))
                if received > limit:
                    raise _TooLarge()
            return message

        app = scope.get("app")
        starting = getattr(app.state, "starting", None) if app is not None else None
        try:
            if b"%00" in scope.get("query_string", b""):
                # No query parameter may hold a NUL (PostgreSQL cannot store or compare it); refused before a
                # streamed answer (the CSV ledger) could start and then break off.
                detail = "查询参数含有不允许的字符（NUL）"
                await _send_problem(
                    send_wrapper,
                    422,
                    "validation_error",
                    "请求内容校验失败",
                    detail,
                    extra_body={"errors": [{"loc": ["query"], "msg": detail, "type": "string_unstorable"}]},
                )
                return
            if starting and path not in ALWAYS_OPEN and not path.startswith(ASSETS_PATH + "/"):
                # still starting (e.g. the database was away at boot): nothing may run half set up
                await _send_problem(
                    send_wrapper, 503, "starting", "服务正在启动，请稍后重试", str(starting), {"retry-after": "2"}
                )
                return
            if path.startswith("/internal/"):
                caller = service_caller_of(headers.get("authorization", ""), self.service_tokens)
                if caller is None:
                    await _send_problem(
                        send_wrapper,
                        401,
                        "unauthorized",
                        "未认证或认证已失效",
                        "服务凭据无效",
                        {"www-authenticate": 'Bearer realm="fengqiao-internal"'},
                    )
                    return
                scope.setdefault("state", {})["service_caller"] = caller  # request.state.service_caller
            if limit is not None and declared and declared.isdigit() and int(declared) > limit:
                raise _TooLarge()
            await self.app(scope, receive_wrapper, send_wrapper)
        except _TooLarge:
            if not status_holder["started"]:
                await _send_problem(
                    send_wrapper, 413, "payload_too_large", "请求体过大", f"请求体超过上限 {limit} 字节"
                )
        except Exception as exc:
            if status_holder["started"]:
                raise
            if is_database_unavailable(exc):
                log.warning("database unavailable: %s", type(exc).__name__)
                await _send_problem(
                    send_wrapper,
                    503,
                    "service_unavailable",
                    "服务暂时不可用，请稍后重试",
                    "数据库暂时不可用",
                    {"retry-after": "2"},
                )
            elif is_unstorable_text(exc):
                # The transaction rolled back with the exception: nothing of the request is stored.
                await _send_problem(
                    send_wrapper,
                    422,
                    "validation_error",
                    "请求内容校验失败",
                    "请求中的文本含有不允许的字符",
                    extra_body={"errors": UNSTORABLE_TEXT_ERRORS},
                )
            else:
                log.exception("unhandled error on %s %s", scope.get("method"), path)
                await _send_problem(send_wrapper, 500, "internal_error", "服务器内部错误", "服务器内部错误，已记录")
        finally:
            duration = time.perf_counter() - started
            # the route template, or `unmatched` for what was answered before routing (never the raw path)
            method = scope.get("method", "")
            self.metrics.observe(
                method if method in KNOWN_METHODS else "other",
                getattr(scope.get("route"), "path", None),
                status_holder["status"],
                duration,
            )
            log.info(
                "%s %s %s",
                scope.get("method"),
                path,
                status_holder["status"],
                extra={
                    "method": scope.get("method"),
                    "path": path,
                    "status": status_holder["status"],
                    "duration_ms": round(duration * 1000, 1),
                },
            )
            request_id_var.reset(token)


class ETagMiddleware:
    """Polled GETs (lists, stats, feeds) carry a strong ETag of their JSON body; a client that sends
    it back in If-None-Match gets 304 and no body."""

    def __init__(self, app: ASGIApp, max_bytes: int = 8 * 1024 * 1024) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or not scope["path"].startswith("/v1/"):
            await self.app(scope, receive, send)
            return
        inm = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"if-none-match"), None)
        start: Message | None = None
        chunks: list[bytes] = []
        passthrough = False

        async def capture(message: Message) -> None:
            nonlocal start, passthrough
            if passthrough:
                await send(message)
                return
            if message["type"] == "http.response.start":
                ctype = next((v for k, v in message.get("headers", []) if k == b"content-type"), b"")
                tagged = any(k == b"etag" for k, _ in message.get("headers", []))  # the route's own (stats)
                if message["status"] != 200 or not ctype.startswith(b"application/json") or tagged:
                    passthrough = True
                    await send(message)
                    return
                start = message
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                if sum(map(len, chunks)) > self.max_bytes:  # too big to hash in memory: send as is
                    passthrough = True
                    assert start is not None
                    await send(start)
                    await send({"type": "http.response.body", "body": b"".join(chunks), "more_body": True})
                return
            body = b"".join(chunks)
            assert start is not None
            import hashlib

            etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
            headers = [(k, v) for k, v in start.get("headers", []) if k != b"content-length"]
            headers.append((b"etag", etag.encode()))
            if inm and etag in [t.strip() for t in inm.split(",")]:
                await send(
                    {
                        "type": "http.response.start",
                        "status": 304,
                        "headers": [(k, v) for k, v in headers if k != b"content-type"],
                    }
                )
                await send({"type": "http.response.body", "body": b""})
                return
            headers.append((b"content-length", str(len(body)).encode()))
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, capture)


class _TooLarge(Exception):
    pass


async def _send_problem(
    send: Send,
    status: int,
    code: str,
    title: str,
    detail: str,
    extra_headers: dict[str, str] | None = None,
    extra_body: dict[str, Any] | None = None,
) -> None:
    body = orjson.dumps(problem_body(status, code, title, detail, **(extra_body or {})))
    headers = [(b"content-type", PROBLEM_MEDIA_TYPE.encode()), (b"content-length", str(len(body)).encode())]
    for k, v in (extra_headers or {}).items():
        headers.append((k.encode(), v.encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def create_service_app(spec: ServiceSpec) -> FastAPI:
    settings = spec.settings

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(spec.name, settings.log_level)
        app.state.db = Database(settings.resolved_database_url(), settings.db_pool_size, f"fengqiao-{spec.name}")
        await app.state.db.warm(settings.db_pool_size)
        verifier: dict[str, Any] = {
            "issuer": settings.jwt_issuer,
            "audience": settings.jwt_audience,
            "leeway": settings.jwt_leeway_seconds,
            "max_age": settings.jwks_max_age_seconds,
        }
        app.state.keys = (
            spec.keys(app)
            if spec.keys
            else (
                KeySet.from_file(settings.jwt_public_keys_file, **verifier)
                if settings.jwt_public_keys_file
                else KeySet(url=settings.cases_url.rstrip("/") + "/.well-known/jwks.json", **verifier)
            )
        )
        for hook in spec.on_startup:
            await hook(app)
        ticker = Ticker(spec.ticks(app)) if settings.run_jobs else None
        if ticker:
            ticker.start()
        app.state.ticker = ticker
        try:
            yield
        finally:
            if ticker:
                ticker.shutdown()
            for hook in spec.on_shutdown:
                await hook(app)
            await app.state.db.dispose()
            mark_process_dead()

    app = FastAPI(
        title=spec.title or spec.name,
        description=spec.description,
        version=spec.version,
        lifespan=lifespan,
        docs_url=None,  # served by install_docs from vendored assets, not from a CDN
        redoc_url=None,
        responses={
            401: {
                "description": "未认证",
                "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
            },
            503: {
                "description": "暂时不可用（含 Retry-After）",
                "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
            },
        },
    )
    app.state.settings = settings
    app.state.service_name = spec.name
    metrics = RequestMetrics()
    app.state.metrics = metrics
    app.state.migrations = MigrationTree.load(PROJECT_ROOT / "migrations")
    app.state.head = app.state.migrations.head
    install_problem_handlers(app)
    app.add_middleware(ETagMiddleware)
    app.add_middleware(
        RequestFrame,
        metrics=metrics,
        max_body=settings.max_body_bytes,
        internal_max_body=settings.internal_max_body_bytes,
        service_tokens=settings.service_tokens,
    )

    health = APIRouter(tags=["health"])

    @health.get("/healthz", summary="Process alive")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": spec.name}

    @health.get(
        "/readyz",
        summary="Database reachable and schema at (or, mid-rollout, ahead of) this code's head",
        responses={503: {"description": "not ready"}},
    )
    async def readyz(request: Request) -> JSONResponse:
        try:
            version = await request.app.state.db.schema_version()
        except Exception as exc:  # unreachable or not migrated
            return JSONResponse(
                problem_body(503, "not_ready", "服务未就绪", f"数据库不可用或未迁移: {type(exc).__name__}"),
                status_code=503,
                media_type=PROBLEM_MEDIA_TYPE,
                headers={"Retry-After": "2"},
            )
        if request.app.state.migrations.state_of(version) is SchemaState.BEHIND:
            return JSONResponse(
                problem_body(
                    503, "not_ready", "服务未就绪", f"数据库结构版本 {version}，应为 {request.app.state.head}"
                ),
                status_code=503,
                media_type=PROBLEM_MEDIA_TYPE,
                headers={"Retry-After": "2"},
            )
        return JSONResponse({"status": "ready", "schema": version})

    @health.get("/metrics", summary="Prometheus metrics", response_class=PlainTextResponse)
    async def prom(request: Request) -> PlainTextResponse:
        readings: list[Reading] = []
        relay = _relay_of(request.app)
        if relay is not None:
            try:
                readings += outbox_readings(await relay.backlog())
            except Exception as exc:  # metrics stay available while the database is away
                log.warning("outbox backlog unavailable: %s", type(exc).__name__)
        if spec.readings is not None and not getattr(request.app.state, "starting", None):
            try:
                readings += await spec.readings(request.app)
            except Exception as exc:
                log.warning("database figures unavailable: %s", type(exc).__name__)
        return PlainTextResponse(metrics.exposition(readings), media_type=CONTENT_TYPE_LATEST)

    app.include_router(health)
    install_docs(app)
    for router in spec.routers:
        app.include_router(router)
    _add_problem_schema(app, spec.extra_schemas)
    return app


def outbox_readings(backlog: list[Any]) -> list[Reading]:
    """The outbox figures of every service, per destination: pending, parked, and the age of the
    oldest pending event (how far behind the relay is)."""
    readings: list[Reading] = []
    for dest, pending, parked, oldest_age in backlog:
        labels = {"destination": dest}
        readings.append(Reading("outbox_pending_events", "Undelivered outbox events", pending, labels))
        readings.append(
            Reading("outbox_parked_events", "Parked (poison) outbox events awaiting an operator", parked, labels)
        )
        readings.append(
            Reading(
                "outbox_oldest_pending_age_seconds",
                "Age of the oldest undelivered, unparked outbox event (0 when none)",
                oldest_age,
                labels,
            )
        )
    return readings


def _relay_of(app: FastAPI) -> Any:
    """The service's outbox relay: in its typed context (shared/context.py), else on app.state."""
    context = getattr(app.state, "context", None)
    return getattr(context, "relay", None) or getattr(app.state, "relay", None)


def _add_problem_schema(app: FastAPI, extra: list[type[BaseModel]]) -> None:
    """Document the problem+json body once so every error response in OpenAPI points at it."""
    original = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = original()
        comps = schema.setdefault("components", {}).setdefault("schemas", {})
        for path_item in schema.get("paths", {}).values():
            for op in path_item.values():
                if not isinstance(op, dict) or "responses" not in op:
                    continue
                resp = op["responses"]
                # FastAPI documents its validation error as application/json; we send problem+json.
                if "422" in resp:
                    resp["422"] = {
                        "description": "请求内容校验失败（errors 指出字段）",
                        "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
                    }
                for code, desc in (
                    ("413", "请求体过大"),
                    ("500", "服务器内部错误"),
                    ("503", "暂时不可用（Retry-After）"),
                ):
                    resp.setdefault(
                        code,
                        {
                            "description": desc,
                            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
                        },
                    )
        for model in extra:
            js = model.model_json_schema(ref_template="#/components/schemas/{model}")
            for name, sub in js.pop("$defs", {}).items():
                comps.setdefault(name, sub)
            comps.setdefault(model.__name__, js)
        comps.pop("HTTPValidationError", None)
        comps.pop("ValidationError", None)
        comps["Problem"] = {
            "type": "object",
            "required": ["type", "title", "status", "detail"],
            "properties": {
                "type": {"type": "string"},
                "title": {"type": "string"},
                "status": {"type": "integer"},
                "detail": {"type": "string"},
                "code": {"type": "string"},
                "errors": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "loc": {"type": "array", "items": {}},
                            "msg": {"type": "string"},
                            "type": {"type": "string"},
                        },
                    },
                },
            },
            "additionalProperties": True,
        }
        app.openapi_schema = schema
        return schema

    # replacing app.openapi is FastAPI's documented way to extend the generated document
    app.openapi = openapi  # type: ignore[method-assign]
