"""Events applied in batches (shared/inbox.py batch handlers): a poison event in a batch still fails alone and
holds only its aggregate; a redelivered batch changes nothing; two cases processes over one backlog apply
every event exactly once; a cases process killed (-9) in the middle of a batch loses and doubles nothing."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx

from services.cases.api import BATCH_HANDLERS, HANDLERS
from services.cases.context import CasesContext
from services.cases.db import inbox
from services.cases.main import create_app as cases_app
from shared.context import context_of
from shared.db import Database
from shared.inbox import EventBatch, EventIn, consume
from shared.outbox import Relay
from tests.cases.factories import submitted
from tests.intake.factories import GRID_W001, report
from tests.support import PII_HASH_KEY, PII_KEY, ROOT, SERVICE_TOKENS, Served, free_port, manual_clock, rows, scalar


def _report_event(aggregate: str | None = None, **payload_over: Any) -> EventIn:
    payload = submitted(report(grid=GRID_W001)).model_dump() | payload_over
    return EventIn(
        id=uuid.uuid4(),
        type="report.submitted",
        aggregate_id=aggregate or payload["report_id"],
        occurred_at=datetime.now(UTC),
        payload=payload,
    )


async def _cases_of(db: Any, report_ids: list[str]) -> dict[str, int]:
    found = await rows(
        db,
        "SELECT CAST(report_id AS text) AS r, count(*) AS n FROM cases.case_reports"
        " WHERE report_id = ANY(CAST(:ids AS uuid[])) GROUP BY report_id",
        ids=report_ids,
    )
    return {r.r: r.n for r in found}


async def test_a_poison_event_in_a_batch_fails_alone_and_holds_only_its_aggregate(system):
    db = system.cases_app.state.db
    ctx = context_of(system.cases_app, CasesContext)
    good = [_report_event() for _ in range(5)]
    taken = good[0].payload["report_no"]
    poison = _report_event(report_no=taken)  # a report number another report has: the batch's insert fails
    behind = _report_event(aggregate=poison.aggregate_id)  # the poison's aggregate: held behind it
    batch = EventBatch(source="intake", events=[good[0], good[1], poison, good[2], behind, good[3], good[4]])

    results = await consume(db, inbox, HANDLERS, batch, ctx, BATCH_HANDLERS)

    assert [r.status for r in results] == [
        "processed",
        "processed",
        "failed",
        "processed",
        "deferred",
        "processed",
        "processed",
    ]
    made = await _cases_of(db, [e.payload["report_id"] for e in [*good, poison, behind]])
    assert made == {e.payload["report_id"]: 1 for e in good}
    assert (
        await scalar(db, "SELECT count(*) FROM cases.inbox WHERE event_id = ANY(:ids)", ids=[poison.id, behind.id]) == 0
    )

    again = await consume(db, inbox, HANDLERS, EventBatch(source="intake", events=good), ctx, BATCH_HANDLERS)
    assert [r.status for r in again] == ["duplicate"] * 5
    assert await _cases_of(db, [e.payload["report_id"] for e in good]) == {e.payload["report_id"]: 1 for e in good}


async def test_one_batch_delivered_to_two_cases_processes_at_once_is_applied_once(system):
    db = system.cases_app.state.db
    ctx = context_of(system.cases_app, CasesContext)
    events = [_report_event() for _ in range(20)]
    batch = EventBatch(source="intake", events=events)
    # two transactions racing on the same event ids (a lease ran out while the first was still at work)
    first, second = await asyncio.gather(
        consume(db, inbox, HANDLERS, batch, ctx, BATCH_HANDLERS),
        consume(db, inbox, HANDLERS, batch, ctx, BATCH_HANDLERS),
    )
    statuses = sorted(r.status for r in first + second)
    assert statuses == ["duplicate"] * 20 + ["processed"] * 20
    made = await _cases_of(db, [e.payload["report_id"] for e in events])
    assert made == {e.payload["report_id"]: 1 for e in events}


async def _push(system: Any, n: int) -> list[str]:
    items = [report(grid=GRID_W001) for _ in range(n)]
    resp = await system.http.post(
        f"{system.intake_url}/v1/sync/push",
        json={"device_id": "dev-w001", "items": items},
        headers=await system.auth("w001", "dev-w001"),
    )
    assert resp.status_code == 200, resp.text
    assert {r["status"] for r in resp.json()["results"]} == {"accepted"}
    return [i["id"] for i in items]


async def _check_exactly_once(system: Any, report_ids: list[str]) -> None:
    db = system.cases_app.state.db
    assert await _cases_of(db, report_ids) == dict.fromkeys(report_ids, 1)
    statuses = await rows(
        db,
        "SELECT payload->>'report_id' AS r, count(*) AS n FROM cases.outbox WHERE type = 'report.status'"
        " AND payload->>'report_id' = ANY(:ids) GROUP BY 1",
        ids=report_ids,
    )
    assert {r.r: r.n for r in statuses} == dict.fromkeys(report_ids, 1)
    timeline = await rows(
        db,
        "SELECT cr.report_id, count(*) AS n FROM cases.case_reports cr JOIN cases.timeline t ON t.case_id = cr.case_id"
        " AND t.action = 'receive' WHERE cr.report_id = ANY(CAST(:ids AS uuid[])) GROUP BY 1",
        ids=report_ids,
    )
    assert {r.n for r in timeline} == {1} and len(timeline) == len(report_ids)
    pending = await scalar(
        system.intake_app.state.db,
        "SELECT count(*) FROM intake.outbox WHERE type = 'report.submitted' AND delivered_at IS NULL"
        " AND aggregate_id = ANY(:ids)",
        ids=report_ids,
    )
    assert pending == 0


async def test_two_cases_processes_share_one_backlog_and_apply_each_event_once(system):
    report_ids = await _push(system, 240)
    second = Served("cases-2", lambda: cases_app(system.settings["cases"]), free_port())
    await second.start()
    # two intake replicas, each with its own connections, each relaying to its own cases process
    dbs = [Database(system.db_url, 3) for _ in range(2)]
    relays = [
        Relay(db, "intake", "intake", {"cases": url}, SERVICE_TOKENS["intake"], batch_size=10, concurrency=2)
        for db, url in zip(dbs, (system.cases_url, f"http://127.0.0.1:{second.port}"), strict=True)
    ]
    try:

        async def undelivered() -> int:
            return await scalar(
                system.intake_app.state.db,
                "SELECT count(*) FROM intake.outbox WHERE destination = 'cases' AND delivered_at IS NULL"
                " AND parked_at IS NULL AND aggregate_id = ANY(:ids)",
                ids=[str(r) for r in report_ids],
            )

        async def relay_while_work_is_left(relay: Relay) -> int:
            """One round at a time, as a relay tick does, until the backlog is gone: both replicas at once."""
            delivered = 0
            for _ in range(200):
                if not await undelivered():
                    break
                delivered += await relay.run_once(max_rounds=1)
                await asyncio.sleep(0)
            return delivered

        delivered = await asyncio.gather(*(relay_while_work_is_left(r) for r in relays))
        assert sum(delivered) >= 240 and all(n > 0 for n in delivered), f"both processes took a share: {delivered}"
        await system.drain()
    finally:
        for r in relays:
            await r.close()
        for db in dbs:
            await db.dispose()
        await second.stop()
    await _check_exactly_once(system, report_ids)


async def test_a_cases_process_killed_in_the_middle_of_a_batch_loses_and_doubles_nothing(system, tmp_path):
    report_ids = await _push(system, 300)
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": system.db_url,
        "SERVICE_TOKENS": ",".join(f"{k}:{v}" for k, v in SERVICE_TOKENS.items()),
        "PII_KEY": PII_KEY,
        "PII_HASH_KEY": PII_HASH_KEY,
        "PORT": str(port),
        "RUN_JOBS": "false",
        "LOG_LEVEL": "WARNING",
        "DB_POOL_SIZE": "3",
        "VAR_DIR": str(tmp_path / "var"),
        "JWT_PRIVATE_KEY_FILE": str(tmp_path / "jwt.pem"),
    }

    async def start() -> asyncio.subprocess.Process:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "services.cases",
            cwd=ROOT,
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
            start_new_session=True,
        )
        async with httpx.AsyncClient(timeout=5) as http:
            for _ in range(600):
                try:
                    if (await http.get(f"http://127.0.0.1:{port}/readyz")).status_code == 200:
                        return proc
                except httpx.TransportError:
                    pass
                assert proc.returncode is None, "cases exited at start"
                await asyncio.sleep(0.1)
        raise AssertionError("cases did not get ready")

    relay = Relay(
        system.intake_app.state.db,
        "intake",
        "intake",
        {"cases": f"http://127.0.0.1:{port}"},
        SERVICE_TOKENS["intake"],
        batch_size=200,
        initial_batch_size=200,
        timeout=30,
    )
    proc = await start()
    try:
        running = asyncio.create_task(relay.run_once())
        in_batch = False
        for _ in range(3000):  # until the process is inside a batch's transaction on the cases tables
            busy = await scalar(
                system.cases_app.state.db,
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND state IN ('active', 'idle in transaction') AND query LIKE '%cases.%'"
                " AND query NOT LIKE '%pg_stat_activity%' AND backend_start > now() - interval '5 minutes'",
            )
            if busy:
                in_batch = True
                break
            await asyncio.sleep(0.005)
        os.killpg(proc.pid, signal.SIGKILL)
        await proc.wait()
        await running
        assert in_batch, "the kill never caught cases inside a batch"
        assert await scalar(
            system.intake_app.state.db,
            "SELECT count(*) FROM intake.outbox WHERE aggregate_id = ANY(:ids) AND delivered_at IS NULL",
            ids=report_ids,
        ), "the killed batch is still to deliver"
        proc = await start()
        with manual_clock() as moved:
            for _ in range(120):
                moved.advance(minutes=10)  # past the failed batch's lease and retry backoff: no waiting for them
                await relay.run_once()
                left = await scalar(
                    system.intake_app.state.db,
                    "SELECT count(*) FROM intake.outbox WHERE aggregate_id = ANY(:ids) AND delivered_at IS NULL",
                    ids=report_ids,
                )
                if not left:
                    break
    finally:
        await relay.close()
        if proc.returncode is None:
            os.killpg(proc.pid, signal.SIGTERM)
            await asyncio.wait_for(proc.wait(), 30)
    await system.drain()
    await _check_exactly_once(system, report_ids)
