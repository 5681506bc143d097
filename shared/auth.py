"""Bearer JWT verification (ES256 or EdDSA, keys from the cases JWKS or a file; issuer, audience and
a small clock leeway checked), the caller as a Principal, role checks, area scoping, the client's real
address behind trusted proxies, and the per-service credentials of /internal calls."""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import json
import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

import httpx
import jwt
from fastapi import Depends, Request

from shared.errors import NotFound, ServiceUnavailable, Unauthorized

log = logging.getLogger("shared.auth")

ALGORITHMS = ("ES256", "EdDSA")
DEFAULT_AUDIENCE = "fengqiao"
DEFAULT_LEEWAY_SECONDS = 30

ROLES = ("grid_worker", "dispatcher", "department_staff", "leader", "admin", "department_system")


@dataclass(frozen=True)
class Principal:
    """Who is calling: a person (with role and areas) or a department system."""

    subject: str
    role: str
    username: str | None = None
    name: str | None = None
    department: str | None = None
    areas: tuple[str, ...] = ()
    device_id: str | None = None
    claims: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def has_role(self, *roles: str) -> bool:
        return self.role in roles


def actor_name(principal: Principal) -> str:
    """Who acted, as timelines, events, idempotency keys and audit logs name them: `role:username` (the
    subject when the account has no username)."""
    return f"{principal.role}:{principal.username or principal.subject}"


class KeySet:
    """Public keys by kid, and what a token must say (issuer, audience) to be accepted.

    Source: a static JWKS document (the cases service's own keys, a file), or the cases JWKS URL. From
    the URL the set is fetched again when an unknown kid appears (a rotation: at most every
    `refetch_seconds`) and when it is older than `max_age` seconds; each fetch replaces the set, so a
    key the JWKS no longer lists stops being accepted. A failed periodic refetch keeps the keys known."""

    def __init__(
        self,
        jwks: dict[str, Any] | None = None,
        url: str | None = None,
        *,
        issuer: str = "",
        audience: str = DEFAULT_AUDIENCE,
        leeway: int = DEFAULT_LEEWAY_SECONDS,
        max_age: float = 300.0,
        refetch_seconds: float = 10.0,
    ) -> None:
        self._keys: dict[str, jwt.PyJWK] = {}
        self._url = url
        self.issuer = issuer
        self.audience = audience
        self.leeway = leeway
        self.max_age = max_age
        self.refetch_seconds = refetch_seconds
        self._fetched_at: float | None = None  # when the set was last fetched from the URL
        self._tried_at = float("-inf")  # when a fetch was last tried (rate limit)
        self._lock = asyncio.Lock()
        if jwks:
            self._keys = self._parse(jwks)

    @classmethod
    def from_file(cls, path: str, **kw: Any) -> KeySet:
        with open(path, encoding="utf-8") as fh:
            return cls(jwks=json.load(fh), **kw)

    @staticmethod
    def _parse(jwks: dict[str, Any]) -> dict[str, jwt.PyJWK]:
        keys: dict[str, jwt.PyJWK] = {}
        for key in jwks.get("keys", []):
            if key.get("use", "sig") != "sig" or key.get("alg") not in ALGORITHMS:
                continue  # not a signing key of ours (PyJWK would also guess an algorithm from the curve)
            keys[str(key["kid"])] = jwt.PyJWK(key)
        return keys

    @property
    def kids(self) -> list[str]:
        return list(self._keys)

    def _stale(self) -> bool:
        return self._url is not None and (
            self._fetched_at is None or time.monotonic() - self._fetched_at > self.max_age
        )

    async def _refetch(self, required: bool) -> None:
        """Fetch the set again unless one was tried within `refetch_seconds`. `required`: nothing to fall
        back on (503 when the fetch fails); else a failure keeps the known keys."""
        assert self._url is not None
        async with self._lock:
            now = time.monotonic()
            if now - self._tried_at < self.refetch_seconds:
                return
            self._tried_at = now
            try:
                async with httpx.AsyncClient(timeout=5) as client:
                    resp = await client.get(self._url)
                    resp.raise_for_status()
                    self._keys = self._parse(resp.json())
                    self._fetched_at = time.monotonic()
            except (httpx.HTTPError, ValueError, KeyError, jwt.PyJWTError) as exc:
                log.warning("cannot fetch JWKS from %s: %s", self._url, exc)
                if required:
                    self._tried_at = float("-inf")  # the next request may try again
                    raise ServiceUnavailable("身份服务暂时不可用") from exc

    async def key_for(self, kid: str) -> jwt.PyJWK:
        if self._stale() and kid in self._keys:
            await self._refetch(required=False)
        elif kid not in self._keys and self._url is not None:
            await self._refetch(required=not self._keys)
        if kid not in self._keys:
            raise Unauthorized("令牌签名密钥未知")
        return self._keys[kid]


async def verify_token(keys: KeySet, token: str) -> Principal:
    try:
        header = jwt.get_unverified_header(token)
        key = await keys.key_for(str(header.get("kid", "")))
        claims = jwt.decode(
            token,
            key=key.key,
            algorithms=[key.algorithm_name],  # the key's own algorithm: no algorithm confusion
            issuer=keys.issuer or None,
            audience=keys.audience,
            leeway=keys.leeway,
            options={"require": ["exp", "iat", "iss", "aud", "sub", "role"]},
        )
    except jwt.PyJWTError as exc:
        raise Unauthorized("访问令牌无效或已过期") from exc
    if claims.get("typ") != "access" or claims.get("role") not in ROLES:
        raise Unauthorized("访问令牌无效")
    return Principal(
        subject=str(claims["sub"]),
        role=str(claims["role"]),
        username=claims.get("preferred_username"),
        name=claims.get("name"),
        department=claims.get("dept"),
        areas=tuple(claims.get("areas") or ()),
        device_id=claims.get("device_id"),
        claims=claims,
    )


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("缺少访问令牌")
    return token.strip()


async def current_principal(request: Request) -> Principal:
    token = _bearer(request)
    return await verify_token(request.app.state.keys, token)


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require_roles(*roles: str) -> Any:
    """Dependency: the caller must hold one of `roles`; anyone else is told the thing does not exist."""

    async def _dep(principal: CurrentPrincipal) -> Principal:
        if principal.role not in roles:
            raise NotFound()
        return principal

    return Depends(_dep)


def in_scope(area_path: list[str] | tuple[str, ...], scope: tuple[str, ...]) -> bool:
    """Is a node (given by its path of ancestor codes, itself included) inside any scoped subtree?"""
    return bool(set(area_path) & set(scope))


def client_address(peer: str | None, forwarded_for: Iterable[str], trusted: Iterable[str]) -> str | None:
    """The client's address: the peer's, unless the peer is a trusted proxy; then the nearest address of
    X-Forwarded-For (read from the right) that is not a trusted proxy itself. An untrusted peer's
    X-Forwarded-For is ignored: anyone can write one."""
    networks = [ipaddress.ip_network(n, strict=False) for n in trusted]

    def is_trusted(address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in net for net in networks)

    if peer is None or not networks or not is_trusted(peer):
        return peer
    hops = [h.strip() for value in forwarded_for for h in value.split(",") if h.strip()]
    client = peer
    for hop in reversed(hops):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            break  # garbage in the header: stay with the last proxy that wrote a real address
        client = hop
        if not is_trusted(hop):
            break
    return client


def request_client_address(request: Request) -> str | None:
    """`client_address` of a request, with the service's TRUSTED_PROXIES."""
    return client_address(
        request.client.host if request.client else None,
        request.headers.getlist("x-forwarded-for"),
        request.app.state.settings.trusted_proxies,
    )


def service_caller_of(authorization: str, tokens: Mapping[str, str]) -> str | None:
    """Which service a `Bearer <its SERVICE_TOKEN>` header belongs to, or None. Every entry is compared
    (in constant time each), so the answer's timing says nothing about which one matched."""
    scheme, _, presented = authorization.partition(" ")
    if scheme.lower() != "bearer" or not presented.strip():
        return None
    given = presented.strip().encode()
    found = None
    for name, token in tokens.items():
        if hmac.compare_digest(given, token.encode()) and found is None:
            found = name
    return found


async def require_service(request: Request) -> str:
    """Service-to-service credential on /internal: the calling service's own token as a bearer. The
    request frame (shared/app.py) checks it before the body is read and leaves the caller in
    `request.state.service_caller`; checked here again for an app without the frame."""
    caller = getattr(request.state, "service_caller", None)
    if caller is None:
        caller = service_caller_of(request.headers.get("authorization", ""), request.app.state.settings.service_tokens)
    if caller is None:
        raise Unauthorized("服务凭据无效")
    return str(caller)


def service_caller(*callers: str) -> Any:
    """Dependency: an /internal endpoint only these services may call (others' valid tokens: 401)."""

    async def _dep(caller: Annotated[str, Depends(require_service)]) -> str:
        if caller not in callers:
            raise Unauthorized("该服务无权调用此接口")
        return caller

    return Depends(_dep)


ServiceCaller = Depends(require_service)
