"""Run one service under uvicorn: `python -m services.<name>`; `python -m services.<name> worker` runs its job
worker (the same app with RUN_JOBS on, one process), for deployments whose web replicas set RUN_JOBS=false.

`WORKERS` (default 1) starts that many processes on one port (uvicorn's supervisor). Every process
serves requests and may run the periodic jobs: each job claims its rows with `FOR UPDATE SKIP
LOCKED`, so extra processes are safe, as extra replicas are. With more than one process the database
URL is resolved once here (an embedded server is started at most once) and handed down through the
environment, as are the generated dev secrets.

With more than one process, metrics use prometheus_client's multiprocess mode: a directory of this run
(under `$PROMETHEUS_MULTIPROC_DIR` when set, else the system's temporary directory; removed at exit)
is handed down as `PROMETHEUS_MULTIPROC_DIR`, every process writes its counts there, and a scrape sums
them (shared/metrics.py).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from typing import Any

import uvicorn

from shared.metrics import MULTIPROCESS_ENV
from shared.settings import MissingProductionSettings


def serve(service: str, settings: Any) -> None:
    workers = max(1, int(settings.workers))
    common: dict[str, Any] = {"host": settings.host, "port": settings.port, "log_config": None, "access_log": False}
    if workers == 1:
        from importlib import import_module

        app = import_module(f"services.{service}.main").create_app(settings)
        uvicorn.run(app, **common)
        return
    os.environ["DATABASE_URL"] = settings.resolved_database_url()
    os.environ.setdefault("SERVICE_TOKEN", settings.service_token)
    os.environ.setdefault("SERVICE_TOKENS", ",".join(f"{k}:{v}" for k, v in settings.service_tokens.items()))
    os.environ.setdefault("PII_KEY", settings.pii_key)
    os.environ.setdefault("PII_HASH_KEY", settings.pii_hash_key)
    base = os.environ.get(MULTIPROCESS_ENV) or None
    run_dir = tempfile.mkdtemp(prefix=f"fengqiao-{service}-metrics-", dir=base)
    os.environ[MULTIPROCESS_ENV] = run_dir  # before any worker imports prometheus_client
    try:
        uvicorn.run(f"services.{service}.main:create_app", factory=True, workers=workers, **common)
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)


def main(service: str, load_settings: Callable[[], Any], argv: list[str]) -> int:
    """The command line of `python -m services.<name> [worker]`: read the settings (a production start
    without a required one ends here with the list of what is missing, no traceback) and serve."""
    try:
        settings = load_settings()
    except MissingProductionSettings as exc:
        sys.stderr.write(f"{service}: {exc}\n")
        return 2
    if argv == ["worker"]:
        # The ticks (relay, sweeps, deliveries, digests) in one process. It answers /healthz, /readyz and
        # /metrics on PORT like a web replica, but no load balancer sends it traffic.
        settings.run_jobs = True
        settings.workers = 1
    elif argv:
        sys.stderr.write(f"usage: python -m services.{service} [worker]\n")
        return 2
    serve(service, settings)
    return 0
