"""APP_ENV=production refuses to start without its secrets and database (naming every one missing at
once) and generates nothing; development generates its secrets once, atomically, whatever the number
of processes starting at the same moment."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from services.cases.config import CasesSettings
from services.intake.config import IntakeSettings
from services.notify.config import NotifySettings
from shared.settings import MissingProductionSettings, dev_secret
from tests.support import PII_HASH_KEY, PII_KEY, ROOT

SECRETS = ("DATABASE_URL", "SERVICE_TOKENS", "PII_KEY", "PII_HASH_KEY", "JWT_PRIVATE_KEY_FILE")
OTHER_SECRETS = ("SERVICE_TOKEN", "PULL_CURSOR_KEY")


@pytest.fixture
def bare_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No secret in the environment; VAR_DIR an empty directory not yet made."""
    for name in (*SECRETS, *OTHER_SECRETS, "APP_ENV"):
        monkeypatch.delenv(name, raising=False)
    var = tmp_path / "var"
    monkeypatch.setenv("VAR_DIR", str(var))
    return var


def test_production_without_secrets_names_every_missing_one_and_generates_nothing(bare_env, monkeypatch):
    monkeypatch.setenv("APP_ENV", "production")
    with pytest.raises(MissingProductionSettings) as caught:
        CasesSettings()
    assert caught.value.missing == list(SECRETS)
    message = str(caught.value)
    assert "生产模式" in message and all(name in message for name in SECRETS)
    common = ["DATABASE_URL", "SERVICE_TOKENS", "PII_KEY", "PII_HASH_KEY"]
    for settings, missing in ((IntakeSettings, [*common, "PULL_CURSOR_KEY"]), (NotifySettings, common)):
        with pytest.raises(MissingProductionSettings) as caught:
            settings()
        assert caught.value.missing == missing
    assert not bare_env.exists()  # no secret, key or embedded database was made


def test_production_names_only_what_is_missing_and_wants_the_key_file_to_exist(bare_env, monkeypatch, tmp_path):
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://app@db/fengqiao")
    monkeypatch.setenv("PII_KEY", PII_KEY)
    monkeypatch.setenv("JWT_PRIVATE_KEY_FILE", str(tmp_path / "absent.pem"))
    with pytest.raises(MissingProductionSettings) as caught:
        CasesSettings()
    assert caught.value.missing[:2] == ["SERVICE_TOKENS", "PII_HASH_KEY"]
    assert caught.value.missing[2].startswith("JWT_PRIVATE_KEY_FILE") and "absent.pem" in caught.value.missing[2]
    assert not (tmp_path / "absent.pem").exists()
    assert not bare_env.exists()


def test_production_with_everything_given_starts_and_uses_no_embedded_database(bare_env, monkeypatch, tmp_path):
    key = tmp_path / "jwt.pem"
    key.write_text("a key")
    for name, value in {
        "APP_ENV": "production",
        "DATABASE_URL": "postgresql+asyncpg://app@db/fengqiao",
        "SERVICE_TOKENS": "intake:token-i,cases:token-c,notify:token-n",
        "PII_KEY": PII_KEY,
        "PII_HASH_KEY": PII_HASH_KEY,
        "JWT_PRIVATE_KEY_FILE": str(key),
    }.items():
        monkeypatch.setenv(name, value)
    settings = CasesSettings()
    assert settings.production and settings.resolved_database_url() == "postgresql+asyncpg://app@db/fengqiao"
    assert not bare_env.exists()


def test_production_never_starts_the_embedded_database(bare_env, monkeypatch):
    import shared.devdb as devdb

    def no_embedded(*args: object) -> None:
        raise AssertionError("embedded PostgreSQL started in production")

    monkeypatch.setattr(devdb, "_start_embedded", no_embedded)
    monkeypatch.setenv("APP_ENV", "production")
    with pytest.raises(RuntimeError, match="DATABASE_URL"):
        devdb.resolve_database_url("run")
    monkeypatch.setenv("DEVDB_FORCE_EMBEDDED", "1")
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://app@db/fengqiao")
    assert devdb.resolve_database_url("run") == "postgresql+asyncpg://app@db/fengqiao"


def test_a_production_start_without_secrets_exits_with_the_list(bare_env):
    env = {k: v for k, v in os.environ.items() if k not in (*SECRETS, *OTHER_SECRETS)}
    env["APP_ENV"] = "production"
    done = subprocess.run(
        [sys.executable, "-m", "services.notify"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert "DATABASE_URL、SERVICE_TOKENS、PII_KEY、PII_HASH_KEY" in done.stderr
    assert "Traceback" not in done.stderr
    assert not bare_env.exists()


def test_audit_retention_below_six_months_is_refused(bare_env, monkeypatch):
    monkeypatch.setenv("AUDIT_RETENTION_DAYS", "90")
    with pytest.raises(ValueError, match="183"):
        IntakeSettings()
    monkeypatch.setenv("AUDIT_RETENTION_DAYS", "183")
    assert IntakeSettings().audit_retention_days == 183


def _race(var: str, start: Any, results: Any) -> None:
    os.environ["VAR_DIR"] = var
    start.wait()
    results.put((dev_secret("pii_key"), dev_secret("service_token")))


def test_concurrent_first_starts_end_with_one_pii_key(tmp_path, monkeypatch):
    """Processes racing on an empty var dir all get the same key (before: each could keep its own `k1`)."""
    ctx = multiprocessing.get_context("fork")
    racers = 6
    for round_ in range(8):
        var = tmp_path / f"var{round_}"
        start = ctx.Barrier(racers)
        results = ctx.Queue()
        procs = [ctx.Process(target=_race, args=(str(var), start, results)) for _ in range(racers)]
        for p in procs:
            p.start()
        got = [results.get(timeout=30) for _ in range(racers)]
        for p in procs:
            p.join(timeout=30)
        assert len({pii for pii, _ in got}) == 1, f"round {round_}: {len({pii for pii, _ in got})} different PII keys"
        assert len({token for _, token in got}) == 1
        monkeypatch.setenv("VAR_DIR", str(var))
        assert dev_secret("pii_key") == got[0][0]  # a later start reads the same key


def _rounds_in_flight(settings: CasesSettings) -> dict[str, int]:
    """What a relay built from these settings keeps in flight per consumer (no connection is opened)."""
    from shared.db import Database
    from shared.outbox import Relay

    consumers = {name: f"http://127.0.0.1:9/{name}" for name in ("intake", "cases", "notify")}
    relay = Relay(
        Database("postgresql+asyncpg://nobody@127.0.0.1:9/none"),
        "cases",
        "cases",
        consumers,
        "token",
        concurrency=settings.relay_concurrency,
        consumer_concurrency=settings.relay_consumer_concurrency,
    )
    return relay.concurrency


def test_relay_concurrency_per_consumer(monkeypatch, tmp_path):
    """RELAY_CONCURRENCY for every consumer, RELAY_CONSUMER_CONCURRENCY where one differs (notify: 1 unless
    told); a count that is not a whole number of at least one is refused, naming the variable."""
    monkeypatch.setenv("VAR_DIR", str(tmp_path))
    assert _rounds_in_flight(CasesSettings()) == {"intake": 2, "cases": 2, "notify": 1}
    monkeypatch.setenv("RELAY_CONCURRENCY", "3")
    monkeypatch.setenv("RELAY_CONSUMER_CONCURRENCY", "notify:2, intake:1")
    assert _rounds_in_flight(CasesSettings()) == {"intake": 1, "cases": 3, "notify": 2}
    for bad in ("notify:0", "notify", "notify:x"):
        monkeypatch.setenv("RELAY_CONSUMER_CONCURRENCY", bad)
        with pytest.raises(ValueError, match="RELAY_CONSUMER_CONCURRENCY"):
            CasesSettings()
