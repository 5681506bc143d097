"""Standard Webhooks (https://www.standardwebhooks.com): secrets, signatures and the headers of one
attempt; and the guard that keeps webhook URLs off loopback, private and other non-public networks.

A signature is `v1,<base64 HMAC-SHA256 of "{webhook-id}.{webhook-timestamp}.{body}">`, keyed with the
base64-decoded part of a `whsec_…` secret. During a rotation every secret still valid signs, and the
signatures are sent space-separated in one `webhook-signature` header, so a receiver that knows either
secret accepts the message.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import ipaddress
import socket
from collections.abc import Iterable
from urllib.parse import urlsplit

SECRET_PREFIX = "whsec_"
MIN_SECRET_BYTES = 24
MAX_SECRET_BYTES = 64
USER_AGENT = "fengqiao-notify/1 (Standard Webhooks)"


class InvalidSecret(ValueError):
    pass


class UnsafeTarget(Exception):
    """A webhook URL that must not be called (scheme, or an address that is not on the public internet)."""


def decode_secret(secret: str, min_bytes: int = MIN_SECRET_BYTES) -> bytes:
    """The key of a `whsec_<base64>` secret (24–64 random bytes, as the specification recommends;
    secrets that arrive with the org document are taken from `min_bytes` up)."""
    if not isinstance(secret, str) or not secret.startswith(SECRET_PREFIX):
        raise InvalidSecret("secret must look like whsec_<base64>")
    b64 = secret[len(SECRET_PREFIX) :]
    try:
        key = base64.b64decode(b64 + "=" * (-len(b64) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidSecret("the part after whsec_ is not base64") from None
    if not max(1, min_bytes) <= len(key) <= MAX_SECRET_BYTES:
        raise InvalidSecret(f"the secret must decode to {max(1, min_bytes)}–{MAX_SECRET_BYTES} bytes, got {len(key)}")
    return key


def sign(msg_id: str, timestamp: int, body: bytes, keys: Iterable[bytes]) -> str:
    """The `webhook-signature` header value: one `v1,<sig>` per key, space-separated."""
    to_sign = f"{msg_id}.{timestamp}.".encode() + body
    return " ".join("v1," + base64.b64encode(hmac.new(key, to_sign, hashlib.sha256).digest()).decode() for key in keys)


def webhook_headers(msg_id: str, timestamp: int, body: bytes, keys: Iterable[bytes]) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(msg_id, timestamp, body, keys),
    }


# ---- where a webhook may go -------------------------------------------------------------------------


def address_refusal(address: str) -> str | None:
    """Why an IP address is not a permitted webhook target, or None if it is a public unicast address."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return f"{address} is not an IP address"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for attr, what in (
        ("is_loopback", "loopback"),
        ("is_link_local", "link-local"),
        ("is_multicast", "multicast"),
        ("is_unspecified", "unspecified"),
        ("is_reserved", "reserved"),
        ("is_private", "private"),
    ):
        if getattr(ip, attr):
            return f"{ip} is a {what} address"
    if not ip.is_global:  # e.g. 100.64.0.0/10 (carrier-grade NAT), 192.0.0.0/24
        return f"{ip} is not a public address"
    return None


def static_refusal(url: str, allow_private: bool) -> str | None:
    """What can be told without DNS: scheme, host, and an address literal or an obviously local name."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return f"not a valid URL: {exc}"
    if parts.scheme not in ("http", "https"):
        return "only http and https URLs are allowed"
    host = (parts.hostname or "").rstrip(".")
    if not host:
        return "the URL has no host"
    if port == 0:
        return "port 0 is not allowed"
    if allow_private:
        return None
    if host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
        return f"{host} is a local name"
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return None  # a name: resolved later
    return address_refusal(host)


async def resolve(host: str, port: int) -> list[str]:
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


async def check_target(url: str, allow_private: bool) -> None:
    """Raise UnsafeTarget unless `url` is http(s) and every address its host resolves to is public
    (or private targets are allowed). Used when an endpoint is set; the connection guard in
    clients.py checks again at connect time, so a name that later resolves elsewhere is caught too."""
    reason = static_refusal(url, allow_private)
    if reason:
        raise UnsafeTarget(reason)
    if allow_private:
        return
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        addresses = await resolve(host, port)
    except OSError as exc:
        raise UnsafeTarget(f"cannot resolve {host}: {exc}") from None
    for address in addresses:
        refusal = address_refusal(address)
        if refusal:
            raise UnsafeTarget(f"{host} resolves to {refusal}")
