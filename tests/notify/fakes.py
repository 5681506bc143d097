"""Fakes at the network edge for notify's tests: a department system's webhook receiver (a real HTTP/1.1
server on a free port, keep-alive, programmable answers) and the reference signature checks."""

from __future__ import annotations

import asyncio
import base64
import inspect
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from standardwebhooks import Webhook


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float  # time.time() when the whole request was in

    @property
    def webhook_id(self) -> str:
        return self.headers.get("webhook-id", "")

    def json(self) -> Any:
        return orjson.loads(self.body)


@dataclass
class Reply:
    status: int = 200
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b"ok"


# behaviour(request, n): n = how many requests with this webhook-id the receiver has seen (1 = first)
Behaviour = Callable[[Received, int], "Reply | int | Awaitable[Reply | int]"]

_REASONS = {
    200: "OK",
    204: "No Content",
    302: "Found",
    400: "Bad Request",
    410: "Gone",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


class Receiver:
    """A department system: records every request and answers as `behaviour` says (default 200)."""

    def __init__(self, behaviour: Behaviour | None = None) -> None:
        self.behaviour = behaviour or (lambda req, n: 200)
        self.received: list[Received] = []
        self.answered: list[tuple[Received, int]] = []
        self._seen: dict[str, int] = {}
        self._server: asyncio.base_events.Server | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self.port = 0

    async def start(self, port: int = 0) -> Receiver:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> Receiver:
        return await self.start()

    async def __aexit__(self, *exc: Any) -> None:
        await self.stop()

    def ids(self) -> list[str]:
        return [r.webhook_id for r in self.received]

    def delivered_ids(self) -> list[str]:
        """webhook-ids of the requests this receiver answered with a 2xx."""
        return [r.webhook_id for r, status in self.answered if 200 <= status < 300]

    async def wait_for(self, count: int, seconds: float = 10.0) -> None:
        """Wait for a real process to reach the receiver (not a schedule: those use the clock)."""
        deadline = time.monotonic() + seconds
        while len(self.received) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"receiver got {len(self.received)} requests, expected {count}")
            await asyncio.sleep(0.02)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        k, v = line.split(":", 1)
                        headers[k.strip().lower()] = v.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0") or 0))
                req = Received(method, path, headers, body, time.time())
                self.received.append(req)
                n = self._seen[req.webhook_id] = self._seen.get(req.webhook_id, 0) + 1
                reply = self.behaviour(req, n)
                if inspect.isawaitable(reply):
                    reply = await reply
                if isinstance(reply, int):
                    reply = Reply(status=reply)
                if reply.delay:
                    await asyncio.sleep(reply.delay)
                out = [
                    f"HTTP/1.1 {reply.status} {_REASONS.get(reply.status, 'Status')}",
                    f"Content-Length: {len(reply.body)}",
                ]
                out += [f"{k}: {v}" for k, v in reply.headers.items()]
                writer.write(("\r\n".join(out) + "\r\n\r\n").encode() + reply.body)
                await writer.drain()
                self.answered.append((req, reply.status))
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            return  # stopped, or the client went away
        finally:
            self._tasks.discard(task)
            writer.close()


# ---- signing: checked with the reference implementation (standardwebhooks) ---------------------------


def new_secret() -> str:
    return "whsec_" + base64.b64encode(os.urandom(32)).decode()


def verify(secret: str, req: Received) -> Any:
    """The reference verifier (checks the timestamp against the real time too)."""
    return Webhook(secret).verify(req.body, req.headers)


def signed_by(secret: str, req: Received) -> bool:
    """Whether one of the request's signatures is the reference signature with `secret`, whatever the
    timestamp (for tests that moved the clock by hours)."""
    ts = datetime.fromtimestamp(int(req.headers["webhook-timestamp"]), tz=UTC)
    expected = Webhook(secret).sign(req.webhook_id, ts, req.body.decode())
    return expected in req.headers.get("webhook-signature", "").split(" ")
