"""Settings base shared by the services (pydantic-settings, environment variables).

Development (`APP_ENV=development`, the default): secrets a developer should not have to invent (service
token, PII keys, the JWT signing key) are generated once under `./var/` when unset, so `make run` works
on a fresh clone; each is created atomically (written to a temporary file, then hard-linked into place,
which fails if another process got there first), so concurrent first starts all end with the same key.

Production (`APP_ENV=production`): nothing is generated and no embedded database is started; a service
refuses to start unless every required setting is given, and names all that are missing at once.
"""

from __future__ import annotations

import base64
import contextlib
import ipaddress
import json
import os
import secrets
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# The Cybersecurity Law (网络安全法 art. 21): network logs are kept at least six months.
AUDIT_MIN_RETENTION_DAYS = 183


def audit_cut(now: datetime, retention_days: float) -> datetime:
    """The oldest moment the audit log keeps: never less than six months back, whatever is configured."""
    return now - timedelta(days=max(retention_days, AUDIT_MIN_RETENTION_DAYS))


class MissingProductionSettings(RuntimeError):
    """APP_ENV=production without a setting it requires (the message names every one missing)."""

    def __init__(self, missing: list[str]) -> None:
        self.missing = missing
        super().__init__(
            "生产模式（APP_ENV=production）缺少必需的配置：" + "、".join(missing) + "。"
            "生产模式不会生成密钥，也不会启动内置数据库；请通过环境变量提供以上配置后再启动。"
        )


def var_dir() -> Path:
    path = Path(os.environ.get("VAR_DIR", PROJECT_ROOT / "var"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def _new_secret(name: str) -> str:
    if name == "pii_key":
        return "k1:" + base64.b64encode(secrets.token_bytes(32)).decode()
    return secrets.token_urlsafe(32)


def dev_secret(name: str) -> str:
    """A secret kept in ./var/dev-secrets/<name>, created on first use (development only).

    Created atomically: each process writes its candidate to a temporary file of its own and hard-links
    it to the final name; `os.link` fails when the name exists, so exactly one candidate wins and every
    process reads the winner. (A secret an older checkout kept in ./var/dev-secrets.json is used as is.)"""
    legacy = var_dir() / "dev-secrets.json"
    if legacy.exists():
        with contextlib.suppress(ValueError, OSError):
            kept = json.loads(legacy.read_text()).get(name)
            if isinstance(kept, str) and kept:
                return kept
    folder = var_dir() / "dev-secrets"
    folder.mkdir(mode=0o700, exist_ok=True)
    path = folder / name
    if not path.exists():
        tmp = folder / f".{name}.{os.getpid()}.{secrets.token_hex(8)}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as f:
                f.write(_new_secret(name))
                f.flush()
                os.fsync(f.fileno())
            with contextlib.suppress(FileExistsError):
                os.link(tmp, path)  # another process may have created it meanwhile: theirs wins
        finally:
            tmp.unlink(missing_ok=True)
    return path.read_text().strip()


SERVICES = ("intake", "cases", "notify")


def comma_list(value: Any) -> Any:
    """`a,b,c` (or a JSON list) from the environment; lists pass as they are."""
    if isinstance(value, str):
        value = value.strip()
        if value.startswith("["):
            return json.loads(value)
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class ServiceSettings(BaseSettings):
    """What every service reads. Each service subclasses it with its own port and extras."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore")

    # the settings production requires (field names; the variable is the name in capitals)
    required_in_production: ClassVar[tuple[str, ...]] = (
        "database_url",
        "service_tokens",  # each service's own credential (SERVICE_TOKEN is this service's entry of it)
        "pii_key",
        "pii_hash_key",
    )

    app_env: Literal["development", "production"] = "development"

    service_name: ClassVar[str] = ""  # intake | cases | notify: whose SERVICE_TOKEN this is

    database_url: str | None = None
    intake_url: str = "http://127.0.0.1:8001"
    cases_url: str = "http://127.0.0.1:8002"
    notify_url: str = "http://127.0.0.1:8003"
    # This service's own credential on the /internal calls it makes (its relay, its clients) ...
    service_token: str = ""
    # ... and the credentials of the callers it accepts on its own /internal endpoints, by caller:
    # `intake:…,cases:…,notify:…` (or a JSON object). Unset in development: each service's generated token.
    service_tokens: Annotated[dict[str, str], NoDecode] = {}
    pii_key: str = ""
    pii_hash_key: str = ""
    jwt_public_keys_file: str | None = None
    jwt_issuer: str = ""  # the `iss` of access tokens and the discovery document's issuer; unset: CASES_URL
    jwt_audience: str = "fengqiao"  # the `aud` every access token carries and every verifier requires
    jwt_leeway_seconds: int = 30  # clock skew tolerated on exp/nbf/iat
    jwks_max_age_seconds: int = 300  # a verifier refetches the JWKS this often (a removed key stops working)
    # Proxies whose X-Forwarded-For is believed (CIDRs or addresses, comma-separated); others' is ignored
    trusted_proxies: Annotated[list[str], NoDecode] = []
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1  # processes behind one port (WORKERS); see shared/serve.py
    run_jobs: bool = True
    relay_interval_seconds: float = 0.5
    # POSTs each relay keeps in flight per consumer (RELAY_CONCURRENCY): while the consumer applies one batch
    # the next is claimed and sent, and a consumer with several processes has work for each
    relay_concurrency: int = 2
    # ... per consumer where it differs (RELAY_CONSUMER_CONCURRENCY=`notify:1,…`): notify applies a POST of a
    # whole run of case events in a few statements, so one in flight keeps it fed, and a second only made two
    # of its batches run beside case creation on a small machine (issue 10's bench: cases 597 → 711/s)
    relay_consumer_concurrency: Annotated[dict[str, int], NoDecode] = {"notify": 1}
    # events a relay's claim takes at most (RELAY_BATCH_SIZE); it adapts below that to the consumer's pace
    relay_batch_size: int = 200
    db_pool_size: int = 10
    log_level: str = "INFO"
    max_body_bytes: int = 5 * 1024 * 1024
    # /internal/v1/*: the service token's callers; the relay keeps its POSTs at 1 MiB and halves on 413
    internal_max_body_bytes: int = 32 * 1024 * 1024
    # retention (hourly ticks, deleted in batches of retention_batch rows)
    inbox_retention_days: float = 30  # event ids kept to recognise a redelivered event
    audit_retention_days: float = 365  # the audit log; never less than 183 days (Cybersecurity Law)
    retention_batch: int = 5000

    @field_validator("audit_retention_days")
    @classmethod
    def _audit_kept_six_months(cls, value: float) -> float:
        if value < AUDIT_MIN_RETENTION_DAYS:
            raise ValueError(
                f"AUDIT_RETENTION_DAYS 不得少于 {AUDIT_MIN_RETENTION_DAYS} 天（网络安全法：网络日志留存不少于六个月）"
            )
        return value

    @property
    def production(self) -> bool:
        return self.app_env == "production"

    def missing_in_production(self) -> list[str]:
        """The variables production requires that are not given (a subclass may add its own checks)."""
        return [name.upper() for name in self.required_in_production if not getattr(self, name)]

    @field_validator("service_tokens", mode="before")
    @classmethod
    def _parse_service_tokens(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip()
            if value.startswith("{"):
                return json.loads(value)
            pairs = [part.strip().partition(":") for part in value.split(",") if part.strip()]
            if any(not name or not token for name, _, token in pairs):
                raise ValueError("SERVICE_TOKENS: expected caller:token[,caller:token…]")
            return {name.strip(): token.strip() for name, _, token in pairs}
        return value

    @field_validator("relay_consumer_concurrency", mode="before")
    @classmethod
    def _parse_consumer_concurrency(cls, value: Any) -> Any:
        if isinstance(value, str):
            pairs = [part.strip().partition(":") for part in value.split(",") if part.strip()]
            if any(not name or not n.strip().isdigit() or int(n) < 1 for name, _, n in pairs):
                raise ValueError("RELAY_CONSUMER_CONCURRENCY: expected consumer:n[,consumer:n…] with n ≥ 1")
            return {name.strip(): int(n) for name, _, n in pairs}
        return value

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _parse_trusted_proxies(cls, value: Any) -> Any:
        value = comma_list(value)
        for entry in value or []:
            ipaddress.ip_network(entry, strict=False)  # a ValueError names the bad entry
        return value

    def model_post_init(self, __context: object) -> None:
        if self.production:
            missing = self.missing_in_production()
            if missing:
                raise MissingProductionSettings(missing)
        if self.service_token and not self.service_tokens:
            raise ValueError(
                "SERVICE_TOKEN is set but SERVICE_TOKENS is not: give every caller's credential "
                "(intake:…,cases:…,notify:…), or neither (development generates both)"
            )
        if not self.service_tokens:  # development: one generated credential per service, shared under ./var/
            self.service_tokens = {name: dev_secret(self.dev_token_name(name)) for name in SERVICES}
        if not self.service_token:  # this service's entry of SERVICE_TOKENS
            own = self.service_tokens.get(self.service_name)
            if own is None and self.service_name:
                raise ValueError(f"SERVICE_TOKENS has no credential for {self.service_name}")
            self.service_token = own or dev_secret(self.dev_token_name(""))
        elif self.service_name and self.service_name not in self.service_tokens:
            self.service_tokens = {**self.service_tokens, self.service_name: self.service_token}
        if len(set(self.service_tokens.values())) < len(self.service_tokens):
            raise ValueError("SERVICE_TOKENS: every caller needs a credential of its own")
        if not self.jwt_issuer:
            self.jwt_issuer = self.cases_url.rstrip("/")
        if self.production:
            return  # production generates nothing
        if not self.pii_key:
            self.pii_key = dev_secret("pii_key")
        if not self.pii_hash_key:
            self.pii_hash_key = dev_secret("pii_hash_key")

    @staticmethod
    def dev_token_name(service: str) -> str:
        return f"service_token_{service}" if service else "service_token"

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        if self.production:  # never an embedded database in production
            raise MissingProductionSettings(["DATABASE_URL"])
        from shared.devdb import resolve_database_url

        url = resolve_database_url("run")
        self.database_url = url
        return url
