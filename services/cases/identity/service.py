"""Token issue (OAuth2 password, client_credentials, rotating refresh tokens) and device revocation."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import math
import secrets
import time
import uuid
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy.ext.asyncio import AsyncSession

from services.cases.db import outbox
from services.cases.identity import repository as repo
from services.cases.identity.exceptions import (
    ClientDisabled,
    DeviceNotFound,
    DeviceRevoked,
    InvalidClient,
    InvalidRefreshToken,
    MissingFields,
    RefreshTokenExpired,
    RefreshTokenReused,
    TooManyAttempts,
    UserDisabled,
    WrongPassword,
)
from services.cases.identity.keys import SigningKey
from services.cases.identity.schemas import (
    GRANT_TYPES,
    OpenIdConfiguration,
    RevokeResponse,
    TokenRequest,
    TokenResponse,
)
from shared.auth import Principal
from shared.clock import clock
from shared.contracts.events import DEVICE_REVOKED
from shared.db import Database
from shared.outbox import Event, publish

hasher = PasswordHasher()
_DUMMY_HASH = hasher.hash("not-a-real-password")


async def verify_secret(hash_: str | None, secret: str) -> bool:
    def check() -> bool:
        try:
            return hasher.verify(hash_ or _DUMMY_HASH, secret) and hash_ is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(check)


async def hash_secret(secret: str) -> str:
    return await asyncio.to_thread(hasher.hash, secret)


MAX_WAIT_SECONDS = 300
ACCOUNT_STREAK_RESET = timedelta(days=1)  # an account's streak idle this long starts again
ADDRESS_STREAK_RESET = timedelta(hours=1)  # an address's failures idle this long start again


def discovery(issuer: str, algorithm: str) -> OpenIdConfiguration:
    """What a stock OAuth2/OIDC client needs to configure itself (the issuer is the tokens' `iss`)."""
    return OpenIdConfiguration(
        issuer=issuer,
        token_endpoint=f"{issuer}/v1/auth/token",
        jwks_uri=f"{issuer}/.well-known/jwks.json",
        grant_types_supported=list(GRANT_TYPES),
        token_endpoint_auth_methods_supported=["client_secret_basic", "client_secret_post"],
        response_types_supported=["token"],
        subject_types_supported=["public"],
        id_token_signing_alg_values_supported=[algorithm],
        claims_supported=[
            *("iss", "sub", "aud", "exp", "iat", "nbf", "jti", "role", "preferred_username", "name"),
            *("dept", "areas", "device_id", "client_id"),
        ],
    )


class TokenIssuer:
    def __init__(
        self,
        db: Database,
        key: SigningKey,
        access_ttl: int,
        refresh_ttl_days: int,
        free_failures: int,
        refresh_reuse_grace_seconds: int = 60,
        *,
        issuer: str,
        audience: str,
        address_free_failures: int = 30,
    ) -> None:
        self.db = db
        self.key = key
        self.access_ttl = access_ttl
        self.refresh_ttl = timedelta(days=refresh_ttl_days)
        self.free_failures = free_failures
        self.address_free_failures = address_free_failures
        self.reuse_grace = timedelta(seconds=refresh_reuse_grace_seconds)
        self.issuer = issuer
        self.audience = audience

    # --- throttle: per account and client address, and per address across accounts ---
    async def _attempt(self, who: str, address: str, now: datetime) -> None:
        """Count this attempt before the secret is checked, atomically and committed at once (a burst
        of parallel guesses is counted one by one), twice:
        - per account and client address (`who`): after `free_failures` attempts without success each
          further one waits 1, 2, 4 … s (at most 300 s) after the previous, 429 with Retry-After;
          guesses from elsewhere never lock the real user out;
        - per client address across all accounts (password spraying: a few guesses at many accounts):
          after `address_free_failures` failures the same waits apply to every sign-in from there. A
          success takes its own attempt back (`_succeeded`), so a busy office behind one address
          only ever counts its mistakes."""
        async with self.db.unit_of_work() as s:
            wait = await repo.count_attempt(s, who, now, self.free_failures, MAX_WAIT_SECONDS, ACCOUNT_STREAK_RESET)
            if wait is None:
                wait = await repo.count_attempt(
                    s, _address_key(address), now, self.address_free_failures, MAX_WAIT_SECONDS, ADDRESS_STREAK_RESET
                )
        if wait is not None:
            seconds = max(1, math.ceil(wait))
            raise TooManyAttempts(seconds)

    @staticmethod
    async def _succeeded(session: AsyncSession, who: str, address: str) -> None:
        await repo.clear_failures(session, who)
        await repo.forgive_attempt(session, _address_key(address))

    def _access(self, claims: dict[str, Any], now: datetime) -> str:
        # Every verifier (ours and the departments') checks iat/exp against its wall clock, so the token's
        # times come from the wall clock too, not from the injectable domain clock.
        wall = int(time.time())
        body = {
            "iss": self.issuer,
            "aud": self.audience,
            "iat": wall,
            "nbf": wall - 5,
            "exp": wall + self.access_ttl,
            "jti": uuid.uuid4().hex,
            "typ": "access",
            **claims,
        }
        return self.key.sign(body)

    async def _refresh(
        self, session: AsyncSession, subject: str, device_id: str | None, family: uuid.UUID | None, now: datetime
    ) -> str:
        token_id = uuid.uuid4()
        secret = secrets.token_urlsafe(32)
        await repo.insert_refresh(
            session,
            {
                "id": token_id,
                "family": family or uuid.uuid4(),
                "subject": subject,
                "device_id": device_id,
                "secret_hash": hashlib.sha256(secret.encode()).hexdigest(),
                "issued_at": now,
                "expires_at": now + self.refresh_ttl,
            },
        )
        return f"{token_id}.{secret}"

    @staticmethod
    def user_claims(user: Any, device_id: str | None) -> dict[str, Any]:
        claims: dict[str, Any] = {
            "sub": str(user.id),
            "role": user.role,
            "preferred_username": user.username,
            "name": user.name,
            "areas": list(user.areas or []),
        }
        if user.department_code:
            claims["dept"] = user.department_code
        if device_id:
            claims["device_id"] = device_id
        return claims

    async def issue(self, session: AsyncSession, req: TokenRequest, client_address: str | None = None) -> TokenResponse:
        now = clock.now()
        address = client_address or "unknown"
        if req.grant_type == "password":
            return await self._password(session, req, now, address)
        if req.grant_type == "client_credentials":
            return await self._client(session, req, now, address)
        return await self._refresh_grant(session, req, now)

    async def _password(self, session: AsyncSession, req: TokenRequest, now: datetime, address: str) -> TokenResponse:
        missing = [f for f in ("username", "password") if not getattr(req, f)]
        if missing:
            raise MissingFields(*missing)
        assert req.username and req.password
        who = f"user:{req.username}@{address}"
        await self._attempt(who, address, now)
        user = await repo.user_by_username(session, req.username)
        ok = await verify_secret(user.password_hash if user else None, req.password)
        if not ok or user is None or not user.active:
            raise WrongPassword()
        if user.role == "grid_worker" and not req.device_id:
            raise MissingFields("device_id")
        if req.device_id:
            dev = await repo.device(session, req.device_id)
            if dev is not None and dev.revoked_at is not None:
                raise DeviceRevoked("该设备已停用，请更换设备后登录")
            await repo.touch_device(session, req.device_id, user.id, now)
        await self._succeeded(session, who, address)
        return TokenResponse(
            access_token=self._access(self.user_claims(user, req.device_id), now),
            expires_in=self.access_ttl,
            refresh_token=await self._refresh(session, str(user.id), req.device_id, None, now),
        )

    async def _client(self, session: AsyncSession, req: TokenRequest, now: datetime, address: str) -> TokenResponse:
        missing = [f for f in ("client_id", "client_secret") if not getattr(req, f)]
        if missing:
            raise MissingFields(*missing)
        assert req.client_id and req.client_secret
        who = f"client:{req.client_id}@{address}"
        await self._attempt(who, address, now)
        client = await repo.client_by_id(session, req.client_id)
        ok = await verify_secret(client.secret_hash if client else None, req.client_secret)
        if not ok or client is None or not client.active:
            raise InvalidClient("客户端凭据错误")
        await self._succeeded(session, who, address)
        claims = {
            "sub": f"client:{req.client_id}",
            "role": "department_system",
            "dept": client.department_code,
            "client_id": client.client_id,
            "areas": [],
        }
        return TokenResponse(access_token=self._access(claims, now), expires_in=self.access_ttl)

    async def _refresh_grant(self, session: AsyncSession, req: TokenRequest, now: datetime) -> TokenResponse:
        if not req.refresh_token:
            raise MissingFields("refresh_token")
        token_id_s, _, secret = req.refresh_token.partition(".")
        try:
            token_id = uuid.UUID(token_id_s)
        except ValueError:
            raise InvalidRefreshToken() from None
        row = await repo.refresh_for_update(session, token_id, lock=False)
        if row is None or not hmac.compare_digest(row.secret_hash, hashlib.sha256(secret.encode()).hexdigest()):
            raise InvalidRefreshToken()
        if row.revoked_at is not None or row.expires_at <= now:
            raise RefreshTokenExpired()
        if row.used_at is not None and not await self._within_grace(session, row, req, now):
            # A rotated token came back: treat the family as stolen and end it (RFC 9700 §4.14.2).
            # Done in its own transaction so the refusal below does not roll it back.
            async with self.db.unit_of_work() as s:
                await repo.revoke_family(s, row.family, now)
            raise RefreshTokenReused()
        row = await repo.refresh_for_update(session, token_id, lock=True)
        if row.revoked_at is not None:
            raise RefreshTokenReused()
        if row.used_at is not None:
            if not await self._within_grace(session, row, req, now):  # a concurrent refresh won the race
                raise RefreshTokenReused()
            # The phone never got the answer to its refresh: the successor it never saw is void, and
            # it gets a fresh pair of the same family.
            await repo.revoke_refresh(session, row.replaced_by, now)
        user = await repo.user_by_id(session, uuid.UUID(row.subject))
        if user is None or not user.active:
            raise UserDisabled()
        if row.device_id:
            dev = await repo.device(session, row.device_id)
            if dev is not None and dev.revoked_at is not None:
                raise DeviceRevoked()
        successor = await self._refresh(session, row.subject, row.device_id, row.family, now)
        await repo.mark_refresh_used(session, row.id, row.used_at or now, uuid.UUID(successor.partition(".")[0]))
        return TokenResponse(
            access_token=self._access(self.user_claims(user, row.device_id), now),
            expires_in=self.access_ttl,
            refresh_token=successor,
        )

    async def _within_grace(self, session: AsyncSession, row: Any, req: TokenRequest, now: datetime) -> bool:
        """A rotated token presented again shortly after its rotation by the same device, which says so
        with its `device_id` (a lost response, not a thief), whose successor has not been used yet. A
        replay that names no device, or a token bound to none, gets no grace."""
        if row.used_at is None or now - row.used_at > self.reuse_grace:
            return False
        if row.device_id is None or req.device_id != row.device_id:
            return False
        if row.replaced_by is None:
            return False
        successor = await repo.refresh_for_update(session, row.replaced_by, lock=False)
        return successor is not None and successor.used_at is None and successor.revoked_at is None


def _address_key(address: str) -> str:
    return f"address:{address}"


async def prune_login_failures(session: AsyncSession, retention: timedelta) -> int:
    """Forget throttle rows idle longer than `retention` (their streaks have long started again)."""
    return await repo.prune_failures(session, clock.now() - retention)


async def revoke_device(session: AsyncSession, device_id: str, actor: str) -> RevokeResponse:
    """A lost phone: its refresh tokens die now, and intake learns through device.revoked."""
    now = clock.now()
    row = await repo.revoke_device(session, device_id, actor, now)
    if row is None:
        raise DeviceNotFound()
    n = await repo.revoke_device_tokens(session, device_id, now)
    await publish(
        session,
        outbox,
        [
            Event(
                type=DEVICE_REVOKED,
                aggregate_id=f"device:{device_id}",
                payload={
                    "device_id": device_id,
                    "worker_id": str(row.user_id) if row.user_id else None,
                    "revoked_at": row.revoked_at.isoformat(),
                },
                destinations=("intake",),
            )
        ],
    )
    return RevokeResponse(device_id=device_id, revoked_at=row.revoked_at.isoformat(), refresh_tokens_revoked=n)


async def ensure_client_active(session: AsyncSession, principal: Principal) -> None:
    """A department system's token works only while its client is active (org document `active: false`
    disables it at once, not when the token expires); people's tokens are not looked up."""
    if principal.role != "department_system":
        return
    client_id = principal.claims.get("client_id") or principal.subject.removeprefix("client:")
    client = await repo.client_by_id(session, str(client_id))
    if client is None or not client.active:
        raise ClientDisabled()
