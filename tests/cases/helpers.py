"""Helpers for case tests: act on a case, read it, sign in as a department system, swap the deadline
policy, run the deadline sweep. Cases themselves come from tests/cases/factories.py."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from services.cases.context import CasesContext
from services.cases.deadline.jobs import sweep
from services.cases.deadline.policy import load_policy
from shared.context import context_of
from tests.support import manual_clock

__all__ = [
    "act",
    "case",
    "cases_context",
    "dept_token",
    "hours",
    "manual_clock",
    "policy",
    "run_sweep",
    "timeline_actions",
]


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
