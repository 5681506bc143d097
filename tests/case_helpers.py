"""Helpers for case tests: make a case from a phone report, act on it, move the clock and sweep."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from factories import GRID_W001, report
from sqlalchemy import text

from services.cases.context import CasesContext
from services.cases.deadline.jobs import sweep
from services.cases.deadline.policy import load_policy
from shared.clock import ManualClock, clock
from shared.context import context_of

WORKERS = {
    "620602107201-01": ("w001", "dev-w001"),
    "620602108201-01": ("w101", "dev-w101"),
    "620602107202-01": ("w002", "dev-w002"),
}


async def make_case(system: Any, grid: str = GRID_W001, **over: Any) -> tuple[str, dict[str, Any]]:
    user, device = WORKERS[grid]
    item = report(grid=grid, **over)
    resp = await system.http.post(
        f"{system.intake_url}/v1/sync/push",
        json={"device_id": device, "items": [item]},
        headers=await system.auth(user, device),
    )
    assert resp.json()["results"][0]["status"] == "accepted", resp.text
    await system.drain()
    async with system.cases_app.state.db.unit_of_work() as s:
        case_id = (
            await s.execute(
                text("SELECT CAST(case_id AS text) FROM cases.case_reports WHERE report_id = CAST(:r AS uuid)"),
                {"r": item["id"]},
            )
        ).scalar()
    assert case_id
    return case_id, item


async def act(
    system: Any, user: str, case_id: str, action: str, body: dict[str, Any] | None = None, **headers: str
) -> Any:
    return await system.http.post(
        f"{system.cases_url}/v1/cases/{case_id}/{action}",
        json=body or {},
        headers={**await system.auth(user), **headers},
    )


async def case(system: Any, case_id: str, user: str = "d001") -> dict[str, Any]:
    resp = await system.http.get(f"{system.cases_url}/v1/cases/{case_id}", headers=await system.auth(user))
    assert resp.status_code == 200, resp.text
    return resp.json()


async def dept_token(system: Any, client_id: str = "ps-dl") -> dict[str, str]:
    tok = (
        await system.http.post(
            f"{system.cases_url}/v1/auth/token",
            data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": f"{client_id}-secret"},
        )
    ).json()
    return {"Authorization": f"Bearer {tok['access_token']}"}


def cases_context(system: Any) -> CasesContext:
    """The running cases service's typed context (its database, cipher, case domain …)."""
    return context_of(system.cases_app, CasesContext)


async def run_sweep(system: Any) -> int:
    ctx = cases_context(system)
    return await sweep(ctx.db, ctx.domain.deadlines)


@contextmanager
def manual_clock(start: datetime | None = None) -> Iterator[ManualClock]:
    m = ManualClock(start or datetime.now(UTC))
    clock.use(m)
    try:
        yield m
    finally:
        clock.reset()


@contextmanager
def policy(system: Any, yaml_text: str, tmp_path: Any) -> Iterator[None]:
    path = tmp_path / "policy.yaml"
    path.write_text(yaml_text, encoding="utf-8")
    deadlines = cases_context(system).domain.deadlines
    old = deadlines.policy
    deadlines.policy = load_policy(str(path))
    try:
        yield
    finally:
        deadlines.policy = old


async def timeline_actions(system: Any, case_id: str) -> list[str]:
    return [t["action"] for t in (await case(system, case_id, "admin"))["timeline"]]


def hours(n: float) -> timedelta:
    return timedelta(hours=n)
