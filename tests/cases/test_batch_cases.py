"""Many report.submitted at once (the set-based path, `create_from_reports`) make exactly what the same reports
make one after another (`create_from_report`): the same cases, numbers in the same order, grades (the parties'
history counts the earlier reports of the batch), links, subjects and their risk, risk warnings, clocks,
timeline and outbox events."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.cases.case.service import create_from_report, create_from_reports
from shared.contracts.events import ReportSubmitted
from tests.cases.factories import WORKERS, case_domain, submitted
from tests.intake.factories import GRID_W001, GRID_W002, id_number, phone, report
from tests.support import manual_clock, services_cipher


def _reports() -> list[ReportSubmitted]:
    """Reports that share people in every way matching knows: one person by ID number then by phone only, one
    in three cases (high risk, a risk warning), two parties of one report who are the same person, a major
    case, a report given twice, strangers."""
    idn, tel, idn2, tel2 = id_number(), phone(), id_number(), phone()
    zhao = {"name": "赵某", "id_number": idn, "phone": tel, "role": "applicant"}
    items = [
        (GRID_W001, {"parties": [zhao], "flags": [], "category": "neighbour", "people_involved": 2}),
        (GRID_W002, {"parties": [{"name": "钱某", "id_number": idn2, "role": "applicant"}]}),
        (GRID_W001, {"parties": [{"name": None, "phone": tel, "role": "respondent"}], "flags": []}),
        (GRID_W001, {"parties": [{"name": "孙某", "phone": phone(), "role": "applicant"}]}),
        (GRID_W002, {"parties": [{"name": "赵某某", "id_number": idn, "role": "applicant"}], "category": "land"}),
        (
            GRID_W001,
            {"flags": ["weapons"], "people_involved": 30, "category": "wages", "amount_cny": "150000"},
        ),
        (
            GRID_W002,
            {
                "parties": [
                    {"name": "钱某", "phone": tel2, "id_number": idn2, "role": "applicant"},
                    {"name": "钱某", "phone": tel2, "role": "witness"},
                ]
            },
        ),
        (GRID_W001, {"parties": [], "kind": "hazard", "category": "fire_safety"}),
    ]
    out = []
    for grid, over in items:
        worker, device = WORKERS[grid]
        out.append(submitted(report(grid=grid, **over), worker, device))
    out.append(out[3].model_copy())  # the same report again
    return out


async def _snapshot(session: AsyncSession, reports: list[ReportSubmitted]) -> str:
    """Everything the reports made, with the ids and numbers that differ from run to run replaced by the
    index of the report whose case it is (subjects by their key)."""

    async def q(sql: str, **params: Any) -> list[dict[str, Any]]:
        return [dict(r._mapping) for r in await session.execute(text(sql), params)]

    report_ids = [uuid.UUID(r.report_id) for r in reports]
    links = await q(
        "SELECT cr.report_id, cr.case_id, c.number FROM cases.case_reports cr JOIN cases.cases c ON c.id = cr.case_id"
        " WHERE cr.report_id = ANY(:r)",
        r=report_ids,
    )
    index = {link["report_id"]: report_ids.index(link["report_id"]) for link in links}
    case_ids = [link["case_id"] for link in sorted(links, key=lambda x: index[x["report_id"]])]
    numbers = [link["number"] for link in sorted(links, key=lambda x: index[x["report_id"]])]
    subjects = await q(
        "SELECT DISTINCT s.* FROM cases.subjects s JOIN cases.subject_cases sc ON sc.subject_id = s.id"
        " WHERE sc.case_id = ANY(:c) ORDER BY s.key_hash",
        c=case_ids,
    )
    snap: dict[str, Any] = {
        "cases": await q(
            "SELECT * FROM cases.cases WHERE id = ANY(:c) ORDER BY array_position(CAST(:c AS uuid[]), id)", c=case_ids
        ),
        "numbers_ascending": numbers == sorted(numbers),
        "timeline": await q(
            "SELECT case_id, at, actor, action, from_state, to_state, note, data FROM cases.timeline"
            " WHERE case_id = ANY(:c) ORDER BY array_position(CAST(:c AS uuid[]), case_id), id",
            c=case_ids,
        ),
        "grades": await q(
            "SELECT case_id, at, level, score, reasons, tier, by, actor, note FROM cases.grades WHERE case_id = ANY(:c)"
            " ORDER BY array_position(CAST(:c AS uuid[]), case_id), id",
            c=case_ids,
        ),
        "deadlines": await q(
            "SELECT case_id, kind, state, calendar, limit_seconds, started_at, due_at, next_step, next_fire_at"
            " FROM cases.deadlines WHERE case_id = ANY(:c)"
            " ORDER BY array_position(CAST(:c AS uuid[]), case_id), kind",
            c=case_ids,
        ),
        "subjects": subjects,
        "subject_cases": await q(
            "SELECT s.key_hash, sc.case_id, sc.role FROM cases.subject_cases sc JOIN cases.subjects s"
            " ON s.id = sc.subject_id WHERE sc.case_id = ANY(:c)"
            " ORDER BY array_position(CAST(:c AS uuid[]), sc.case_id), s.key_hash",
            c=case_ids,
        ),
        "subject_keys": await q(
            "SELECT k.key_hash, s.key_hash AS subject FROM cases.subject_keys k JOIN cases.subjects s"
            " ON s.id = k.subject_id WHERE s.id = ANY(:s) ORDER BY k.key_hash",
            s=[s["id"] for s in subjects],
        ),
        "notices": await q(
            "SELECT case_id, kind, number, area_code, unit, subject, body, issued_at, respond_by FROM cases.notices"
            " WHERE case_id = ANY(:c) ORDER BY array_position(CAST(:c AS uuid[]), case_id), number",
            c=case_ids,
        ),
        "outbox": await q(
            "SELECT aggregate_id, destination, type, payload FROM cases.outbox WHERE aggregate_id = ANY(:a)"
            " ORDER BY array_position(CAST(:a AS text[]), aggregate_id), destination, id",
            a=[str(c) for c in case_ids],
        ),
    }
    for s in subjects:
        s.pop("id")
    dumped = json.dumps(snap, default=str, ensure_ascii=False, sort_keys=True)
    for i, (cid, number) in enumerate(zip(case_ids, numbers, strict=True)):
        dumped = dumped.replace(str(cid), f"<case {i}>").replace(number, f"<number {i}>")
    for s in await q(
        "SELECT id, key_hash FROM cases.subjects WHERE key_hash = ANY(:k)", k=[s["key_hash"] for s in subjects]
    ):
        dumped = dumped.replace(str(s["id"]), f"<subject {s['key_hash'][:12]}>")
    for n in await q("SELECT id FROM cases.notices WHERE case_id = ANY(:c)", c=case_ids):
        dumped = dumped.replace(str(n["id"]), "<notice>")
    return dumped


async def test_a_batch_makes_what_the_reports_make_one_by_one(org_session: AsyncSession) -> None:
    reports = _reports()
    domain = case_domain()
    with manual_clock(datetime(2026, 3, 10, 2, 0, tzinfo=UTC)):
        one_by_one = await org_session.begin_nested()
        made = [await create_from_report(org_session, r, domain, services_cipher()) for r in reports]
        expected = await _snapshot(org_session, reports)
        await one_by_one.rollback()

        together = await org_session.begin_nested()
        batch = await create_from_reports(org_session, reports, domain)
        got = await _snapshot(org_session, reports)
        await together.rollback()

    assert [m is None for m in made] == [b is None for b in batch] == [False] * 8 + [True]
    assert '"action": "risk_warning"' in expected and '"action": "link"' in expected  # the case covers them
    assert '"level": "major"' in expected and '"case.major"' in expected
    assert json.loads(got) == json.loads(expected)


async def test_reports_already_in_a_case_make_nothing_in_a_batch(org_session: AsyncSession) -> None:
    reports = _reports()[:3]
    domain = case_domain()
    first = await create_from_reports(org_session, reports, domain)
    again = await create_from_reports(org_session, reports, domain)
    assert all(first) and again == [None, None, None]
    n = (
        await org_session.execute(
            text("SELECT count(*) FROM cases.case_reports WHERE report_id = ANY(:r)"),
            {"r": [uuid.UUID(r.report_id) for r in reports]},
        )
    ).scalar()
    assert n == 3
