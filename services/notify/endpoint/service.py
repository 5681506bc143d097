"""Department webhook endpoints: where a department system gets its webhooks and the secrets that
sign them.

Secrets are kept encrypted (PiiCipher), newest first: `[{"secret_enc", "added_at", "expires_at"}]`.
Setting a new secret puts it first and gives the previous ones 24 hours (`expires_at`) during which
every message is signed with all of them, so the department can switch its verifier without losing a
message. Secrets are never returned, only how many sign and until when.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.notify.delivery import service as delivery_service
from services.notify.delivery.webhooks import (
    InvalidSecret,
    UnsafeTarget,
    check_target,
    decode_secret,
    static_refusal,
)
from services.notify.directory import service as directory
from services.notify.endpoint import repository as repo
from services.notify.endpoint.exceptions import (
    DepartmentNotListed,
    EndpointNotFound,
    SecretRequired,
    UnsafeUrl,
    UnusableSecret,
)
from shared.clock import clock
from shared.pii import PiiCipher

log = logging.getLogger("notify.endpoint")

ROTATION_GRACE = timedelta(hours=24)
REFUSED_PREFIX = "refused target: "
OPERATOR, DIRECTORY = "operator", "directory"  # who set an endpoint: the operator's PUT wins over the org document


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def live_secrets(secrets: list[dict[str, Any]] | None, now: datetime) -> list[dict[str, Any]]:
    """The entries still signing at `now`, newest first."""
    return [s for s in (secrets or []) if (exp := _when(s.get("expires_at"))) is None or exp > now]


def signing_keys(secrets: list[dict[str, Any]] | None, cipher: PiiCipher, now: datetime) -> list[bytes]:
    """The HMAC keys of every secret still signing (undecodable entries are skipped and logged)."""
    keys: list[bytes] = []
    for entry in live_secrets(secrets, now):
        try:
            keys.append(decode_secret(cipher.decrypt(entry["secret_enc"]) or "", min_bytes=1))
        except (InvalidSecret, KeyError, ValueError) as exc:
            log.warning("skipping an unusable webhook secret: %s", type(exc).__name__)
    return keys


def rotate(
    secrets: list[dict[str, Any]] | None, new_secret: str, cipher: PiiCipher, now: datetime
) -> list[dict[str, Any]] | None:
    """The secrets after setting `new_secret`, or None when it already is the current one."""
    live = live_secrets(secrets, now)
    if live and live[0].get("expires_at") is None and cipher.decrypt(live[0]["secret_enc"]) == new_secret:
        return None
    grace_end = now + ROTATION_GRACE
    kept = []
    for entry in live:
        if cipher.decrypt(entry["secret_enc"]) == new_secret:
            continue  # rotating back to an older secret: it becomes the current one again
        exp = _when(entry.get("expires_at"))
        kept.append({**entry, "expires_at": (exp if exp is not None and exp < grace_end else grace_end).isoformat()})
    return [{"secret_enc": cipher.encrypt(new_secret), "added_at": now.isoformat(), "expires_at": None}, *kept]


def view(row: Any, now: datetime | None = None) -> dict[str, Any]:
    live = live_secrets(row.secrets, now or clock.now())
    return {
        "department_code": row.department_code,
        "url": row.url,
        "state": row.state,
        "disabled_reason": row.disabled_reason,
        "source": row.source,
        "secret_count": len(live),
        "secrets": [{"added_at": s.get("added_at"), "expires_at": s.get("expires_at")} for s in live],
        "updated_at": row.updated_at,
    }


async def put_endpoint(
    session: AsyncSession, cipher: PiiCipher, code: str, url: str, secret: str | None, *, allow_private_targets: bool
) -> dict[str, Any]:
    """An operator sets a department's URL (and maybe a new secret). The endpoint is active again, is
    the operator's from now on (an org import no longer changes it), and the department's failed
    webhook deliveries are tried again now rather than at their next scheduled attempt. A department
    the directory does not list (unknown or retired) has no endpoint to set."""
    if await directory.live_department(session, code) is None:
        raise DepartmentNotListed()
    try:
        await check_target(url, allow_private_targets)
    except UnsafeTarget as exc:
        raise UnsafeUrl(str(exc)) from None
    if secret is not None:
        try:
            decode_secret(secret)
        except InvalidSecret as exc:
            raise UnusableSecret(str(exc)) from None
    now = clock.now()
    existing = await repo.get(session, code)
    if secret is None and (existing is None or not live_secrets(existing.secrets, now)):
        raise SecretRequired()
    row, _ = await repo.lock_or_create(session, code, url, now, source=OPERATOR)
    values: dict[str, Any] = {
        "url": url,
        "state": "active",
        "disabled_reason": None,
        "source": OPERATOR,
        "updated_at": now,
    }
    if secret is not None and (rotated := rotate(row.secrets, secret, cipher, now)) is not None:
        values["secrets"] = rotated
    else:
        values["secrets"] = live_secrets(row.secrets, now)  # expired entries are dropped
    row = await repo.save(session, code, **values)
    brought = await delivery_service.bring_forward_failed(session, code, now)
    log.info(
        "webhook endpoint %s set (%d signing secrets; %d failed deliveries due now)",
        code,
        len(values["secrets"]),
        brought,
    )
    return view(row, now)


async def get_endpoint(session: AsyncSession, code: str) -> dict[str, Any]:
    row = await repo.get(session, code)
    if row is None:
        raise EndpointNotFound()
    return view(row)


async def upsert_from_directory(
    session: AsyncSession,
    cipher: PiiCipher,
    code: str,
    url: str | None,
    secret_plain_or_None: str | None,
    *,
    allow_private_targets: bool = False,
) -> None:
    """The org directory (directory.changed) brings a department's webhook setting.

    An endpoint an operator has set (PUT /v1/endpoints) is the operator's from then on: the directory
    changes neither its URL nor its secrets. The directory seeds and keeps up only the endpoints it
    created (source `directory`). For those: nothing changes when url and secret are what is stored
    (the secret is not rotated again). A new URL makes the endpoint active again; a URL that may not
    be called (scheme, loopback/private address literal or local name while private targets are not
    allowed) is stored disabled with the reason, so its deliveries fail visibly until an operator
    fixes it. A malformed secret is logged and
    ignored (the old ones keep signing). No URL: nothing is done.
    """
    if not url:
        return
    now = clock.now()
    refusal = static_refusal(url, allow_private_targets)
    row, created = await repo.lock_or_create(session, code, url, now, source=DIRECTORY)
    if not created and row.source != DIRECTORY:
        if row.url != url:
            log.info("webhook endpoint %s is set by an operator: the org document's URL is not applied", code)
        return
    values: dict[str, Any] = {}
    if created or row.url != url:
        values.update(url=url, state="active", disabled_reason=None)
    if refusal:
        values.update(state="disabled", disabled_reason=REFUSED_PREFIX + refusal)
        log.warning("webhook endpoint %s from the directory refused: %s", code, refusal)
    elif row.state == "disabled" and (row.disabled_reason or "").startswith(REFUSED_PREFIX):
        values.update(state="active", disabled_reason=None)
    if secret_plain_or_None:
        try:
            decode_secret(secret_plain_or_None, min_bytes=1)
        except InvalidSecret as exc:
            log.warning("webhook secret of %s from the directory ignored: %s", code, exc)
        else:
            rotated = rotate(row.secrets, secret_plain_or_None, cipher, now)
            if rotated is not None:
                values["secrets"] = rotated
    if values:
        values["updated_at"] = now
        await repo.save(session, code, **values)


async def disable_gone(session: AsyncSession, reasons: dict[str, str], now: datetime) -> None:
    """Disable the endpoints whose department system answered 410 Gone, each with its reason."""
    await repo.disable(session, reasons, now)


async def apply_directory_webhooks(
    session: AsyncSession,
    cipher: PiiCipher,
    departments: list[dict[str, Any]],
    *,
    allow_private_targets: bool,
) -> None:
    """The webhook settings of the org document's live departments (`webhook`: url, secret_enc)."""
    for dept in departments:
        hook = dept.get("webhook") or {}
        if hook.get("url") and dept.get("active") is not False:
            secret = cipher.decrypt(hook.get("secret_enc")) if hook.get("secret_enc") else None
            await upsert_from_directory(
                session, cipher, dept["code"], hook["url"], secret, allow_private_targets=allow_private_targets
            )


async def endpoints_of(session: AsyncSession, codes: list[str]) -> list[Any]:
    """The endpoints of these departments (those that have one)."""
    return await repo.load_many(session, codes)
