"""`make run`: the whole system on one machine for development and demos.

Uses DATABASE_URL if set, else an embedded PostgreSQL under ./var/pg; migrates; loads the demo org;
starts intake, cases and notify as child processes; prints where they are and the demo logins.
Ctrl-C stops everything it started.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SERVICES = (("cases", 8002), ("intake", 8001), ("notify", 8003))


def _interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def main() -> int:
    # Ctrl-C (and a plain kill) stop everything, also when started from a shell that ignores SIGINT.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    sys.path.insert(0, str(ROOT))
    from shared.devdb import resolve_database_url

    env = dict(os.environ)
    url = env.get("DATABASE_URL") or resolve_database_url("run")
    env["DATABASE_URL"] = url
    env.setdefault("PYTHONUNBUFFERED", "1")
    py = sys.executable
    print(f"数据库 database: {url}", flush=True)
    subprocess.run([py, "-m", "alembic", "upgrade", "head"], cwd=ROOT, env=env, check=True)
    subprocess.run(
        [py, "-m", "services.cases", "import-org", "deploy/demo-org.yaml"],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    # a few weeks of demo cases, so the first dashboard (http://127.0.0.1:8002/dashboard) shows something
    subprocess.run([py, "-m", "services.cases", "seed-demo"], cwd=ROOT, env=env, check=True)
    logs = ROOT / "var" / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for name, port in SERVICES:
            penv = dict(env, PORT=env.get(f"{name.upper()}_PORT", str(port)))
            with open(logs / f"{name}.log", "ab") as out:  # the child keeps its own copy of the descriptor
                procs.append(
                    subprocess.Popen([py, "-m", f"services.{name}"], cwd=ROOT, env=penv, stdout=out, stderr=out)
                )
        for (name, port), proc in zip(SERVICES, procs, strict=True):
            _wait_ready(name, port, proc)
        print("\n服务已启动 services are up:")
        for name, port in SERVICES:
            print(
                f"  {name:7s} http://127.0.0.1:{port}   (docs: http://127.0.0.1:{port}/docs, logs: var/logs/{name}.log)"
            )
        print("\n演示账号 demo logins (password demo-pass-1):")
        print("  admin 平台管理员 · l001 区领导 · dc001 区综治中心调度员")
        print("  d001 大柳镇调度员 · d101 三岔河镇调度员 · d202 小柳村调度员 (小柳村有自己的综治中心)")
        print("  w001/w002 大柳镇网格员 · w101 三岔河镇网格员 (grid workers also send device_id) · s001 派出所民警")
        print("  department systems (client_credentials): ps-dl / ps-dl-secret, ps-sch / ps-sch-secret")
        print("\n  curl -s -d grant_type=password -d username=w001 -d password=demo-pass-1 -d device_id=demo-phone \\")
        print("       http://127.0.0.1:8002/v1/auth/token\n\nCtrl-C 停止 stops everything.", flush=True)
        while all(p.poll() is None for p in procs):
            time.sleep(1)
        print("a service exited; see var/logs/", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        if not os.environ.get("DATABASE_URL"):
            from shared.devdb import stop_embedded

            stop_embedded(str(ROOT / "var" / "pg"))


def _wait_ready(name: str, port: int, proc: subprocess.Popen[bytes]) -> None:
    for _ in range(300):
        if proc.poll() is not None:
            raise SystemExit(f"{name} exited during start; see var/logs/{name}.log")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{name} not ready after 60 s; see var/logs/{name}.log")


if __name__ == "__main__":
    sys.exit(main())
