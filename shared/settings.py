"""Settings base shared by the services (pydantic-settings, environment variables).

Secrets that a developer should not have to invent (service token, PII keys, the JWT signing key)
are generated once under `./var/` when unset, so `make run` works on a fresh clone.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def var_dir() -> Path:
    path = Path(os.environ.get("VAR_DIR", PROJECT_ROOT / "var"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def dev_secret(name: str) -> str:
    """A secret kept in ./var/dev-secrets.json, created on first use (development only)."""
    path = var_dir() / "dev-secrets.json"
    data: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    if name not in data:
        if name == "pii_key":
            data[name] = "k1:" + base64.b64encode(secrets.token_bytes(32)).decode()
        else:
            data[name] = secrets.token_urlsafe(32)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2))
        os.chmod(tmp, 0o600)
        tmp.replace(path)
    return data[name]


class ServiceSettings(BaseSettings):
    """What every service reads. Each service subclasses it with its own port and extras."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore")

    database_url: str | None = None
    intake_url: str = "http://127.0.0.1:8001"
    cases_url: str = "http://127.0.0.1:8002"
    notify_url: str = "http://127.0.0.1:8003"
    service_token: str = ""
    pii_key: str = ""
    pii_hash_key: str = ""
    jwt_public_keys_file: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1  # processes behind one port (WORKERS); see shared/serve.py
    run_jobs: bool = True
    relay_interval_seconds: float = 0.5
    db_pool_size: int = 10
    log_level: str = "INFO"
    max_body_bytes: int = 5 * 1024 * 1024
    # /internal/v1/*: the service token's callers; the relay keeps its POSTs at 1 MiB and halves on 413
    internal_max_body_bytes: int = 32 * 1024 * 1024

    def model_post_init(self, __context: object) -> None:
        if not self.service_token:
            self.service_token = dev_secret("service_token")
        if not self.pii_key:
            self.pii_key = dev_secret("pii_key")
        if not self.pii_hash_key:
            self.pii_hash_key = dev_secret("pii_hash_key")

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        from shared.devdb import resolve_database_url

        url = resolve_database_url("run")
        self.database_url = url
        return url
