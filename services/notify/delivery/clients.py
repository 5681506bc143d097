"""The HTTP clients of the delivery worker, held in the notify context for the life of the process.

Webhooks go through one aiohttp session, not httpx. Measured here (2 cores, signed POSTs to a local
receiver, 32 in flight; `bench_deliveries.py --deliveries-compare-clients`): httpx 0.28 with one
client ~150–300 requests/s at 3–5 ms of CPU each, 4 clients × 8 ~470–500/s, 16 clients × 2 ~720–800/s
at ~1.2 ms; aiohttp ~2,600–3,200/s at 0.2–0.3 ms. The worker's whole budget at 1,000 deliveries/s
plus retries is under 1 ms per attempt, so httpx could not carry it (ARCHITECTURE.md, "httpx under
concurrency"). The SMS gateway (a few messages a minute) keeps using httpx.

When private targets are not allowed, host names are resolved by a resolver that refuses loopback,
private, link-local, multicast and reserved addresses, at connect time (so a name that resolved to a
public address when the endpoint was set and to 10.x later is still refused); address literals are
refused before sending (webhooks.static_refusal). Redirects are never followed, proxies from the
environment are ignored, and every attempt has a total deadline.
"""

from __future__ import annotations

import socket

import aiohttp
import httpx
from aiohttp.abc import ResolveResult
from aiohttp.resolver import ThreadedResolver

from services.notify.config import NotifySettings
from services.notify.delivery.webhooks import UnsafeTarget, address_refusal, static_refusal

MAX_RESPONSE_BYTES = 64 * 1024


class TransportError(Exception):
    """The request did not get an answer (refused connection, reset, DNS failure, …)."""


class _RefusedAddress(OSError):
    """Raised by the guarded resolver; aiohttp wraps it, the sender unwraps it into UnsafeTarget."""


class GuardedResolver(ThreadedResolver):
    """Resolves like the default resolver, then refuses names that lead to non-public addresses."""

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await super().resolve(host, port, family)
        for result in results:
            refusal = address_refusal(result["host"])
            if refusal:
                raise _RefusedAddress(f"{host} resolves to {refusal}")
        return results


class DeliveryClients:
    """The webhook session (aiohttp) and the SMS gateway client (httpx). `await close()` at shutdown.

    Built from the notify settings (delivery_concurrency, webhook_timeout_seconds,
    webhook_allow_private_targets), each overridable by keyword. Create it inside the event loop
    (the app's startup hook, a job, a test)."""

    def __init__(
        self,
        settings: NotifySettings,
        *,
        concurrency: int | None = None,
        timeout_seconds: float | None = None,
        allow_private_targets: bool | None = None,
    ) -> None:
        if concurrency is None:
            concurrency = settings.delivery_concurrency
        if timeout_seconds is None:
            timeout_seconds = settings.webhook_timeout_seconds
        if allow_private_targets is None:
            allow_private_targets = bool(settings.webhook_allow_private_targets)
        self.concurrency = max(1, int(concurrency))
        self.timeout_seconds = float(timeout_seconds)
        self.allow_private_targets = bool(allow_private_targets)
        connector = aiohttp.TCPConnector(
            limit=self.concurrency * 2,
            limit_per_host=0,
            ttl_dns_cache=30,
            keepalive_timeout=30,
            resolver=None if self.allow_private_targets else GuardedResolver(),
        )
        self.webhooks = aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(total=self.timeout_seconds),
            trust_env=False,
            auto_decompress=False,
            raise_for_status=False,
            skip_auto_headers=("Accept-Encoding",),
        )
        self._sms: httpx.AsyncClient | None = None
        self.closing = False  # set at shutdown: workers claim nothing more and give back what they hold

    def begin_close(self) -> None:
        """Shutdown starts: the delivery runs stop claiming, give back the rows they have not sent and
        let the sends in flight finish (a send cut short after this is not counted as an attempt)."""
        self.closing = True

    @property
    def sms(self) -> httpx.AsyncClient:
        """The SMS gateway client, made on first use (most ticks send no SMS)."""
        if self._sms is None:
            self._sms = httpx.AsyncClient(
                timeout=httpx.Timeout(self.timeout_seconds), follow_redirects=False, trust_env=False
            )
        return self._sms

    async def post_webhook(
        self, url: str, body: bytes, headers: dict[str, str], keep: int = 300
    ) -> tuple[int, str, str]:
        """POST once, no redirects. Returns (status, the first `keep` characters of the answer, Location).
        Raises UnsafeTarget, TimeoutError or TransportError."""
        refusal = static_refusal(url, self.allow_private_targets)
        if refusal:
            raise UnsafeTarget(refusal)
        try:
            async with self.webhooks.post(url, data=body, headers=headers, allow_redirects=False) as resp:
                status = resp.status
                location = resp.headers.get("Location", "")
                kept = b""
                total = 0
                async for chunk in resp.content.iter_chunked(16 * 1024):
                    if len(kept) < keep:
                        kept += chunk[: keep - len(kept)]
                    total += len(chunk)
                    if total > MAX_RESPONSE_BYTES:
                        resp.close()  # drop the connection rather than drain a huge answer
                        break
        except aiohttp.ClientConnectorError as exc:
            if isinstance(exc.os_error, _RefusedAddress):
                raise UnsafeTarget(str(exc.os_error)) from None
            raise TransportError(f"cannot connect: {exc.os_error or exc}") from None
        except _RefusedAddress as exc:
            raise UnsafeTarget(str(exc)) from None
        except aiohttp.InvalidURL as exc:
            raise UnsafeTarget(f"not a valid URL: {exc}") from None
        except aiohttp.ClientError as exc:
            raise TransportError(f"{type(exc).__name__}: {exc}") from None
        return status, kept.decode("utf-8", "replace"), location

    async def close(self) -> None:
        self.closing = True
        await self.webhooks.close()
        if self._sms is not None:
            await self._sms.aclose()

    aclose = close
