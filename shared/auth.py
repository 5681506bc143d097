"""Bearer JWT verification (EdDSA, keys from the cases JWKS or a file), the caller as a Principal,
role checks, area scoping, and the service credential for /internal calls."""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Annotated, Any

import httpx
import jwt
from fastapi import Depends, Request

from shared.errors import NotFound, ServiceUnavailable, Unauthorized

log = logging.getLogger("shared.auth")

ISSUER = "fengqiao-cases"
ALGORITHMS = ["EdDSA", "ES256"]

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


class KeySet:
    """Public keys by kid. Source: a static JWKS document, or the cases JWKS URL (refetched when an
    unknown kid appears, at most every 10 s)."""

    def __init__(self, jwks: dict[str, Any] | None = None, url: str | None = None) -> None:
        self._keys: dict[str, Any] = {}
        self._url = url
        self._fetched_at = 0.0
        self._lock = asyncio.Lock()
        if jwks:
            self._load(jwks)

    @classmethod
    def from_file(cls, path: str) -> KeySet:
        with open(path, encoding="utf-8") as fh:
            return cls(jwks=json.load(fh))

    def _load(self, jwks: dict[str, Any]) -> None:
        for key in jwks.get("keys", []):
            self._keys[key["kid"]] = jwt.PyJWK(key).key

    async def key_for(self, kid: str) -> Any:
        if kid in self._keys:
            return self._keys[kid]
        if self._url is None:
            raise Unauthorized("令牌签名密钥未知")
        async with self._lock:
            if kid not in self._keys and time.monotonic() - self._fetched_at > 10:
                self._fetched_at = time.monotonic()
                try:
                    async with httpx.AsyncClient(timeout=5) as client:
                        resp = await client.get(self._url)
                        resp.raise_for_status()
                        self._load(resp.json())
                except (httpx.HTTPError, ValueError) as exc:
                    self._fetched_at = 0.0
                    log.warning("cannot fetch JWKS from %s: %s", self._url, exc)
                    raise ServiceUnavailable("身份服务暂时不可用") from exc
        if kid not in self._keys:
            raise Unauthorized("令牌签名密钥未知")
        return self._keys[kid]


async def verify_token(keys: KeySet, token: str) -> Principal:
    try:
        header = jwt.get_unverified_header(token)
        key = await keys.key_for(str(header.get("kid", "")))
        claims = jwt.decode(
            token,
            key=key,
            algorithms=ALGORITHMS,
            issuer=ISSUER,
            options={"require": ["exp", "iat", "sub", "role"]},
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


async def require_service(request: Request) -> None:
    """Service-to-service credential on /internal: the shared SERVICE_TOKEN as a bearer."""
    token = _bearer(request)
    expected = request.app.state.settings.service_token
    if not hmac.compare_digest(token.encode(), expected.encode()):
        raise Unauthorized("服务凭据无效")


ServiceCaller = Depends(require_service)
