"""Small factories for the cases service: an org (imported as an admin would), a case (made the real way,
from a phone report through intake), a graded case, a whistle; below the HTTP edge, in a rolled-back
`db_session`, the demo org and a case made from a report by the cases service itself; and the few helpers
that force a row's state where a test is about a gate, not the path there (their SQL lives here and nowhere
else in the tests)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.cases.calendar import WorkCalendar
from services.cases.case.domain import CaseDomain
from services.cases.case.service import create_from_report
from services.cases.deadline.policy import load_policy
from services.cases.deadline.service import DeadlineEngine
from services.cases.grading import load_rules
from services.cases.org import service as org_service
from shared.clock import clock
from shared.contracts.events import PartyWire, ReportSubmitted
from tests.cases.helpers import act
from tests.intake.factories import GRID_W001, report
from tests.support import DEMO_ORG, scalar, services_cipher

WORKERS = {
    "620602107201-01": ("w001", "dev-w001"),
    "620602108201-01": ("w101", "dev-w101"),
    "620602107202-01": ("w002", "dev-w002"),
}
ORDINARY = {"flags": [], "category": "neighbour", "people_involved": 2}  # facts that grade as an ordinary case


# ---- org ------------------------------------------------------------------------------------------


async def import_org(system: Any, doc: dict[str, Any], drain: bool = True) -> None:
    """POST /v1/admin/org as the admin; with `drain`, the directory events reach intake and notify."""
    resp = await system.http.post(f"{system.cases_url}/v1/admin/org", json=doc, headers=await system.auth("admin"))
    assert resp.status_code == 200, resp.text
    if drain:
        await system.drain()


async def demo_org(session: AsyncSession) -> None:
    """The demo org inside `session` (for a rolled-back `db_session` test; the live system has its own)."""
    document = org_service.parse_document(DEMO_ORG.read_bytes(), "application/yaml")
    await org_service.import_org(session, document, services_cipher())


# ---- cases ----------------------------------------------------------------------------------------


def case_domain() -> CaseDomain:
    """The cases service's rules and deadline engine with the project's default files, no calendar overrides."""
    return CaseDomain(rules=load_rules(None), deadlines=DeadlineEngine(load_policy(None), WorkCalendar(overrides={})))


def submitted(item: dict[str, Any], worker: str = "w001", device: str = "dev-w001") -> ReportSubmitted:
    """The report.submitted event intake would send for a pushed report `item` (PII encrypted, hashed)."""
    cipher = services_cipher()
    parties = [
        PartyWire(
            name=p.get("name"),
            role=p.get("role"),
            id_number_enc=cipher.encrypt(p.get("id_number")),
            id_number_hash=cipher.lookup_hash("id_number", p.get("id_number")),
            phone_enc=cipher.encrypt(p.get("phone")),
            phone_hash=cipher.lookup_hash("phone", p.get("phone")),
        )
        for p in item.get("parties", [])
    ]
    fields = {k: v for k, v in item.items() if k in ReportSubmitted.model_fields and k not in ("id", "parties")}
    return ReportSubmitted(
        **fields,
        report_id=item["id"],
        report_no=f"R{uuid.uuid4().hex[:12]}",
        worker_id=worker,
        device_id=device,
        received_at=clock.now().isoformat(),
        parties=parties,
    )


async def new_case(session: AsyncSession, grid: str = GRID_W001, **over: Any) -> uuid.UUID:
    """A case made by the cases service from one report, inside `session` (graded, parties matched)."""
    worker, device = WORKERS[grid]
    case_id = await create_from_report(
        session, submitted(report(grid=grid, **over), worker, device), case_domain(), services_cipher()
    )
    assert case_id is not None
    return case_id


async def make_case(system: Any, grid: str = GRID_W001, **over: Any) -> tuple[str, dict[str, Any]]:
    """A case from one phone report pushed by the grid's worker (and relayed to cases)."""
    user, device = WORKERS[grid]
    item = report(grid=grid, **over)
    resp = await system.http.post(
        f"{system.intake_url}/v1/sync/push",
        json={"device_id": device, "items": [item]},
        headers=await system.auth(user, device),
    )
    assert resp.json()["results"][0]["status"] == "accepted", resp.text
    await system.drain()
    case_id = await scalar(
        system.cases_app.state.db,
        "SELECT CAST(case_id AS text) FROM cases.case_reports WHERE report_id = CAST(:r AS uuid)",
        r=item["id"],
    )
    assert case_id
    return case_id, item


async def graded_case(system: Any, grid: str = GRID_W001, user: str = "d001", **over: Any) -> str:
    """An ordinary case (unless `over` says otherwise), graded by the centre's dispatcher `user`."""
    case_id, _ = await make_case(system, grid, **(ORDINARY | over))
    resp = await act(system, user, case_id, "grade")
    assert resp.status_code == 200, resp.text
    return case_id


async def whistle(
    system: Any,
    case_id: str,
    lead: str | None = "PS-DL",
    assist: tuple[str, ...] = (),
    reason: str = "请派员处置",
    user: str = "d001",
) -> dict[str, Any]:
    """Whistle (吹哨) departments to a graded case: `lead` leads, `assist` assist. Returns the case."""
    departments = ([{"code": lead, "role": "lead"}] if lead else []) + [{"code": c, "role": "assist"} for c in assist]
    resp = await act(system, user, case_id, "whistle", {"departments": departments, "reason": reason})
    assert resp.status_code == 200, resp.text
    return resp.json()


# ---- forced states (a gate under test, not the path to it) ---------------------------------------


async def force_case_state(system: Any, case_id: str, state: str) -> None:
    """Put a case straight into `state`, whatever the path there would be."""
    async with system.cases_app.state.db.unit_of_work() as session:
        await session.execute(
            text("UPDATE cases.cases SET state = :s WHERE id = :c"), {"s": state, "c": uuid.UUID(case_id)}
        )


async def forget_address_failures(system: Any, address: str) -> None:
    """Forget the failed sign-ins counted against one client address (across accounts)."""
    async with system.cases_app.state.db.unit_of_work() as session:
        await session.execute(
            text("DELETE FROM cases.login_failures WHERE principal = :p"), {"p": f"address:{address}"}
        )


async def sign_in_failure_at(system: Any, principal: str, at: Any) -> None:
    """A throttle row whose last failure was at `at` (an old streak the pruning should forget)."""
    async with system.cases_app.state.db.unit_of_work() as session:
        await session.execute(
            text(
                """INSERT INTO cases.login_failures (principal, failures, last_failure_at) VALUES (:p, 3, :at)
                   ON CONFLICT (principal) DO UPDATE SET last_failure_at = EXCLUDED.last_failure_at"""
            ),
            {"p": principal, "at": at},
        )


async def forget_sign_in_failures(system: Any, username: str) -> None:
    """Forget the failed sign-ins of `username` from every address (as a day without failures would)."""
    async with system.cases_app.state.db.unit_of_work() as session:
        await session.execute(
            text("DELETE FROM cases.login_failures WHERE principal LIKE :p"), {"p": f"user:{username}@%"}
        )


async def forget_calendar_year(system: Any, year: int) -> None:
    """Undo a test's calendar import: the year's overrides and its imported mark go (the estimate is back)."""
    async with system.cases_app.state.db.unit_of_work() as session:
        await session.execute(text("DELETE FROM cases.calendar_years WHERE year = :y"), {"y": year})
        await session.execute(
            text("DELETE FROM cases.calendar_overrides WHERE extract(year FROM day) = :y"), {"y": year}
        )


@asynccontextmanager
async def holding_case(system: Any, case_id: str) -> AsyncIterator[None]:
    """Hold a case's row lock (as an action in flight would) until the block ends."""
    async with system.cases_app.state.db.unit_of_work() as session:
        await session.execute(text("SELECT 1 FROM cases.cases WHERE id = :c FOR UPDATE"), {"c": uuid.UUID(case_id)})
        yield
