"""Run one service under uvicorn: `python -m services.<name>`.

`WORKERS` (default 1) starts that many processes on one port (uvicorn's supervisor). Every process
serves requests and may run the periodic jobs: each job claims its rows with `FOR UPDATE SKIP
LOCKED`, so extra processes are safe, as extra replicas are. With more than one process the database
URL is resolved once here (an embedded server is started at most once) and handed down through the
environment, as are the generated dev secrets.
"""

from __future__ import annotations

import os
from typing import Any

import uvicorn


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
    uvicorn.run(f"services.{service}.main:create_app", factory=True, workers=workers, **common)
