"""Resolve the PostgreSQL URL used to run or test the backend.

Order of preference:

* ``run``:  ``$DATABASE_URL``, else an embedded server in ``<project>/var/pg``
  (database ``fengqiao``, created if missing).
* ``test``: ``$TEST_DATABASE_URL`` (returned as is), else a trust-auth server on
  ``127.0.0.1:5432`` as user ``postgres``, else an embedded server in
  ``<project>/var/pg-test``. In the last two cases the test database
  (``$TEST_DATABASE_NAME``, default ``fengqiao_test``) is dropped and recreated empty.

``DEVDB_FORCE_EMBEDDED=1`` skips the environment URLs and the local server.
With ``APP_ENV=production`` ``run`` never starts an embedded server: ``$DATABASE_URL`` or an error.

The embedded server comes from the ``pgserver`` wheel (PostgreSQL binaries, imported
lazily). It listens only on a unix socket inside its data directory; the socket
directory is passed as the ``host`` query parameter, which both asyncpg and the
SQLAlchemy asyncpg dialect (hence alembic) understand. It keeps running after the
Python process exits, so later calls reuse it; ``stop_embedded`` stops it.
PostgreSQL refuses to run as root: in that case pgserver creates the unprivileged
system user ``pgserver``, hands it the data directory and runs initdb/pg_ctl as it.

CLI: ``python -m shared.devdb url run|test`` prints the URL; ``python -m shared.devdb
stop [DATA_DIR]`` stops the embedded servers.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import concurrent.futures
import logging
import os
import sys
import time
import warnings
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import asyncpg

__all__ = ["resolve_database_url", "stop_embedded"]

log = logging.getLogger(__name__)
T = TypeVar("T")

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DATA_DIRS = {"run": PROJECT_ROOT / "var" / "pg", "test": PROJECT_ROOT / "var" / "pg-test"}
RUN_DATABASE = "fengqiao"
DEFAULT_TEST_DATABASE = "fengqiao_test"
LOCAL_SERVER: dict[str, Any] = {"host": "127.0.0.1", "port": 5432}
PG_USER = "postgres"


def _run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion, even when called from inside an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _url(server: dict[str, Any], database: str) -> str:
    """Build a SQLAlchemy asyncpg URL for a TCP host or a unix-socket directory."""
    if str(server["host"]).startswith("/"):
        return f"postgresql+asyncpg://{PG_USER}@/{database}?host={server['host']}&port={server['port']}"
    return f"postgresql+asyncpg://{PG_USER}@{server['host']}:{server['port']}/{database}"


async def _answers(server: dict[str, Any], connect_seconds: float = 2.0) -> bool:
    """Return True if the server accepts a ``postgres`` connection to db ``postgres``."""
    try:
        conn = await asyncpg.connect(user=PG_USER, database="postgres", timeout=connect_seconds, **server)
    except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        log.info("no usable server at %s:%s (%s)", server["host"], server["port"], exc)
        return False
    await conn.close()
    return True


async def _prepare_database(server: dict[str, Any], name: str, recreate: bool) -> None:
    """Create database ``name`` if missing; with ``recreate`` drop it first."""
    conn = await asyncpg.connect(user=PG_USER, database="postgres", timeout=10, **server)
    try:
        if recreate:
            await conn.execute(f"DROP DATABASE IF EXISTS {_quote_ident(name)} WITH (FORCE)")
        elif await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            return
        await conn.execute(f"CREATE DATABASE {_quote_ident(name)}")
        log.info("created database %s", name)
    finally:
        await conn.close()


def _import_pgserver() -> Any:
    with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset
        warnings.simplefilter("ignore")
        import pgserver
    logging.getLogger("pgserver").setLevel(logging.WARNING)
    return pgserver


def _postmaster_alive(data_dir: Path) -> bool:
    """Whether ``postmaster.pid`` names a live postgres serving ``data_dir``.

    A pid file whose process is gone is left for PostgreSQL to discard. Lock files naming
    a pid now used by another process, or an unreaped zombie, are removed: pgserver would
    believe the server is running and PostgreSQL would refuse to start.
    """
    import psutil  # dependency of pgserver

    pid_file = data_dir / "postmaster.pid"
    try:
        lines = [line.strip() for line in pid_file.read_text().splitlines()]
    except FileNotFoundError:
        return False
    if lines and lines[0].isdigit():
        deadline = time.monotonic() + 5
        while True:
            try:
                proc = psutil.Process(int(lines[0]))
                if proc.status() != psutil.STATUS_ZOMBIE:
                    args = {os.path.realpath(arg) for arg in proc.cmdline()}
                    if proc.name() == "postgres" and str(data_dir) in args:
                        return True
                    break
            except psutil.ZombieProcess:
                pass
            except psutil.NoSuchProcess:
                if len(lines) == 8:  # complete file: pgserver and PostgreSQL cope
                    return False
                break
            except psutil.AccessDenied:
                return True
            if time.monotonic() > deadline:
                break
            time.sleep(0.1)
    elif time.time() - pid_file.stat().st_mtime < 10:  # maybe being written right now
        return True
    log.warning("removing stale lock files of %s", data_dir)
    if len(lines) >= 5 and lines[3].isdigit() and lines[4]:
        (Path(lines[4]) / f".s.PGSQL.{lines[3]}.lock").unlink(missing_ok=True)
    pid_file.unlink(missing_ok=True)
    return False


def _forget(pgserver: Any, data_dir: Path) -> None:
    """Drop pgserver's cached handle of ``data_dir`` and its exit hook (which would trip over it)."""
    handle = pgserver.PostgresServer._instances.pop(data_dir, None)
    if handle is not None:
        atexit.unregister(handle._cleanup)


def _start_embedded(data_dir: Path) -> dict[str, Any]:
    """Start (or reuse) the embedded server in ``data_dir``; return asyncpg host/port."""
    pgserver = _import_pgserver()
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    data_dir = data_dir.resolve()
    started = time.monotonic()
    reuse = data_dir.exists() and _postmaster_alive(data_dir)
    _forget(pgserver, data_dir)  # never trust a cached handle
    # cleanup_mode=None: keep the server running when this process exits. A server that is still
    # starting or shutting down (say, after an interrupted `make run`) is waited for and tried again.
    for attempt in range(20):
        try:
            info = pgserver.get_server(data_dir, cleanup_mode=None).get_postmaster_info()
            break
        except AssertionError:
            _forget(pgserver, data_dir)
            if attempt == 19:
                raise
            time.sleep(0.5)
    server = {"host": str(info.socket_dir), "port": info.port or 5432}
    if not _run(_answers(server, connect_seconds=10)):
        raise RuntimeError(f"embedded PostgreSQL in {data_dir} does not answer; see {data_dir / 'log'}")
    log.info(
        "embedded PostgreSQL %s in %s (pid %s) in %.2fs",
        "reused" if reuse else "started",
        data_dir,
        info.pid,
        time.monotonic() - started,
    )
    return server


def resolve_database_url(purpose: str) -> str:
    """Return a ``postgresql+asyncpg://`` URL for ``purpose`` ("run" or "test").

    For "test" (unless ``TEST_DATABASE_URL`` is used) the test database is recreated empty.
    """
    if purpose not in DATA_DIRS:
        raise ValueError(f"purpose must be 'run' or 'test', not {purpose!r}")
    forced = os.environ.get("DEVDB_FORCE_EMBEDDED", "").lower() in {"1", "true", "yes", "on"}
    env_url = os.environ.get("DATABASE_URL" if purpose == "run" else "TEST_DATABASE_URL")
    if purpose == "run" and os.environ.get("APP_ENV", "").lower() == "production":
        if env_url:
            return env_url
        raise RuntimeError("生产模式（APP_ENV=production）缺少必需的配置：DATABASE_URL；生产模式不会启动内置数据库")
    if env_url and not forced:
        log.info("using URL from the environment")
        return env_url
    if purpose == "run":
        server, database = _start_embedded(DATA_DIRS["run"]), RUN_DATABASE
    else:
        database = os.environ.get("TEST_DATABASE_NAME") or DEFAULT_TEST_DATABASE
        if not forced and _run(_answers(LOCAL_SERVER)):
            log.info("using local PostgreSQL on 127.0.0.1:5432")
            server = LOCAL_SERVER
        else:
            server = _start_embedded(DATA_DIRS["test"])
    _run(_prepare_database(server, database, recreate=purpose == "test"))
    return _url(server, database)


def stop_embedded(data_dir: str | Path | None = None) -> None:
    """Stop the embedded server in ``data_dir`` (default: both ``var/pg`` and ``var/pg-test``)."""
    dirs = [Path(data_dir)] if data_dir is not None else list(DATA_DIRS.values())
    for directory in (d.resolve() for d in dirs):
        if not (directory / "PG_VERSION").exists() or not _postmaster_alive(directory):
            log.info("no embedded server running in %s", directory)
            continue
        pgserver = _import_pgserver()
        owner = directory.stat().st_uid
        user = owner if os.geteuid() == 0 and owner != 0 else None  # pg_ctl refuses root
        pgserver.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=directory, user=user, cwd="/")
        _forget(pgserver, directory)
        log.info("stopped embedded server in %s", directory)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; logs go to stderr, the URL alone to stdout."""
    parser = argparse.ArgumentParser(prog="python -m shared.devdb", description=(__doc__ or "").split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("url", help="print the database URL").add_argument("purpose", choices=sorted(DATA_DIRS))
    sub.add_parser("stop", help="stop embedded servers").add_argument("data_dir", nargs="?")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="devdb: %(message)s")
    if args.command == "url":
        print(resolve_database_url(args.purpose))
    else:
        stop_embedded(args.data_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
