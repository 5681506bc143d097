"""/metrics: request labels stay bounded whatever paths clients send; with WORKERS>1 a scrape sums
every process; and the figures operators page on are there."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
import uuid
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.support import PII_HASH_KEY, PII_KEY, ROOT, SERVICE_TOKENS, free_port


def samples(body: str, name: str) -> list[tuple[dict[str, str], float]]:
    return [
        (dict(s.labels), s.value)
        for family in text_string_to_metric_families(body)
        for s in family.samples
        if s.name == name
    ]


async def declared_too_large(port: int, path: str) -> int:
    """A POST declaring a body far over the limit (sent raw: httpx will not declare what it does not send)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {10**9}\r\n\r\n".encode())
    await writer.drain()
    status = int((await reader.readline()).split()[1])
    writer.close()
    return status


async def test_requests_answered_before_routing_are_unmatched_and_labels_stay_bounded(system):
    base = system.intake_url
    for i in range(60):
        path = f"/v1/random-{uuid.uuid4().hex}"
        if i % 3 == 0:
            r = await system.http.get(f"{base}{path}?q=%00")  # 422 before routing
            assert r.status_code == 422
        elif i % 3 == 1:
            assert await declared_too_large(system.services["intake"].port, path) == 413  # before routing
        else:
            assert (await system.http.get(f"{base}{path}")).status_code == 404
        await system.http.request(f"M{i}", f"{base}/healthz")  # a method nobody knows
    body = (await system.http.get(f"{base}/metrics")).text
    counted = samples(body, "http_requests_total")
    routes = {labels["route"] for labels, _ in counted}
    methods = {labels["method"] for labels, _ in counted}
    templates = set(system.intake_app.openapi()["paths"]) | {"/openapi.json", "/docs", "/redoc"}
    assert "unmatched" in routes
    assert routes <= templates | {"unmatched"}, routes - templates
    assert not any("random-" in r for r in routes)
    assert methods <= {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "other"}
    unmatched_422 = [v for labels, v in counted if labels["route"] == "unmatched" and labels["status"] == "422"]
    assert unmatched_422 and sum(unmatched_422) >= 20


async def test_the_figures_operators_page_on_are_scraped(system):
    cases = (await system.http.get(f"{system.cases_url}/metrics")).text
    notify = (await system.http.get(f"{system.notify_url}/metrics")).text
    intake = (await system.http.get(f"{system.intake_url}/metrics")).text
    ((_, breached),) = samples(cases, "deadlines_breached")
    ((_, lag),) = samples(cases, "deadline_sweep_lag_seconds")
    assert breached >= 0 and lag >= 0
    for body in (cases, intake):
        ages = samples(body, "outbox_oldest_pending_age_seconds")
        assert all(v >= 0 for _, v in ages)
    assert "outbox_oldest_pending_age_seconds" in intake + cases
    states = {labels["state"] for labels, _ in samples(notify, "notify_deliveries")}
    assert {"pending", "delivered", "failed", "dead"} <= states
    kinds = {labels["kind"] for labels, _ in samples(notify, "notify_dead_letters")}
    assert kinds == {"delivery", "event"}


async def test_the_sweep_lag_is_the_age_of_the_oldest_step_due(system):
    """A step due an hour ago and not fired (the ticks do not run in tests) shows as an hour of lag."""
    from sqlalchemy import text

    db = system.cases_app.state.db
    deadline_id = uuid.uuid4()
    async with db.unit_of_work() as session:
        await session.execute(
            text(
                """INSERT INTO cases.deadlines (id, case_id, kind, state, calendar, limit_seconds, started_at,
                     due_at, next_fire_at, created_at)
                   VALUES (:id, :case, 'probe', 'pending', 'natural', 60, now() - interval '2 hours',
                     now() + interval '1 day', now() - interval '1 hour', now())"""
            ),
            {"id": deadline_id, "case": uuid.uuid4()},
        )
    try:
        body = (await system.http.get(f"{system.cases_url}/metrics")).text
        ((_, lag),) = samples(body, "deadline_sweep_lag_seconds")
        assert lag >= 3600
    finally:
        async with db.unit_of_work() as session:
            await session.execute(text("DELETE FROM cases.deadlines WHERE id = :id"), {"id": deadline_id})


def _counter_pids(root: Path) -> set[str]:
    return {m.group(1) for p in root.rglob("counter_*.db") if (m := re.match(r"counter_(\d+)\.db", p.name))}


async def test_with_two_workers_a_scrape_sums_both_processes(database_url, tmp_path):
    port = free_port()
    base_dir = tmp_path / "prom"
    base_dir.mkdir()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SERVICE_TOKENS": ",".join(f"{name}:{token}" for name, token in SERVICE_TOKENS.items()),
        "PII_KEY": PII_KEY,
        "PII_HASH_KEY": PII_HASH_KEY,
        "PORT": str(port),
        "WORKERS": "2",
        "RUN_JOBS": "false",
        "LOG_LEVEL": "WARNING",
        "DB_POOL_SIZE": "2",
        "VAR_DIR": str(tmp_path / "var"),
        "PROMETHEUS_MULTIPROC_DIR": str(base_dir),
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "services.notify",
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    # a fresh connection per request, so the kernel hands them to both processes
    limits = httpx.Limits(max_keepalive_connections=0)
    try:
        async with httpx.AsyncClient(timeout=10, limits=limits) as http:
            for _ in range(600):
                try:
                    if (await http.get(f"{url}/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert proc.returncode is None, "the service exited at start"
                await asyncio.sleep(0.1)
            sent = 1
            while len(_counter_pids(base_dir)) < 2 and sent < 400:
                assert (await http.get(f"{url}/healthz")).status_code == 200
                sent += 1
            assert len(_counter_pids(base_dir)) == 2, "the second process never answered"
            for _ in range(6):  # whichever process answers the scrape, it counts both
                body = (await http.get(f"{url}/metrics")).text
                healthz = [
                    v
                    for labels, v in samples(body, "http_requests_total")
                    if labels["route"] == "/healthz" and labels["status"] == "200"
                ]
                assert sum(healthz) == sent
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), 30)
        except TimeoutError:
            os.killpg(proc.pid, signal.SIGKILL)
            await asyncio.wait_for(proc.wait(), 10)
    assert not any(base_dir.iterdir()), "the run's metrics directory is removed at exit"
