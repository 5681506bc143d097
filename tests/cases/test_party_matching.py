"""The same person across reports: matched by the ID number's or the phone's keyed hash, whichever a
report carries; parties first reported in different villages make a cross-village (跨村) case."""

from __future__ import annotations

import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.cases.factories import make_case, new_case
from tests.cases.helpers import case
from tests.intake.factories import GRID_W001, GRID_W002, id_number, phone
from tests.support import rows, session_scalar


async def subjects_of(db, case_id):
    """The subjects of a case: `db` is the live system's cases Database or a test's own session."""
    sql = "SELECT subject_id FROM cases.subject_cases WHERE case_id = :c"
    if isinstance(db, AsyncSession):
        return {r.subject_id for r in await db.execute(text(sql), {"c": uuid.UUID(str(case_id))})}
    return {r.subject_id for r in await rows(db, sql, c=uuid.UUID(str(case_id)))}


async def grade_of(session, case_id):
    return await session_scalar(session, "SELECT grade FROM cases.cases WHERE id = :c", c=case_id)


async def test_person_with_id_number_then_phone_only_then_id_only_is_one_subject(org_session):
    idn, tel = id_number(), phone()
    first = await new_case(
        org_session,
        flags=[],
        category="neighbour",
        people_involved=2,
        parties=[{"name": "赵某", "id_number": idn, "phone": tel, "role": "applicant"}],
    )
    second = await new_case(
        org_session,
        flags=[],
        category="neighbour",
        people_involved=2,
        parties=[{"name": "赵某", "phone": tel, "role": "applicant"}],
    )
    third = await new_case(
        org_session,
        flags=[],
        category="neighbour",
        people_involved=2,
        parties=[{"name": "赵某", "id_number": idn, "role": "applicant"}],
    )
    (a,), (b,), (c,) = (
        await subjects_of(org_session, first),
        await subjects_of(org_session, second),
        await subjects_of(org_session, third),
    )
    assert a == b == c
    second_grade = await grade_of(org_session, second)
    assert second_grade["level"] == "complex" and any("在办案件" in r for r in second_grade["reasons"])
    fourth = await new_case(
        org_session,
        flags=[],
        category="neighbour",
        people_involved=2,
        parties=[{"name": "赵某", "phone": tel, "role": "applicant"}],
    )
    grade = await grade_of(org_session, fourth)
    assert grade["level"] == "petition_backlog" and any("3起以往案件" in r for r in grade["reasons"])


async def test_parties_first_reported_in_two_villages_make_a_cross_village_case(org_session):
    a_id, b_id = id_number(), id_number()
    await new_case(
        org_session,
        GRID_W001,
        flags=[],
        category="land",
        people_involved=1,
        parties=[{"name": "钱某", "id_number": a_id, "role": "applicant"}],
    )
    await new_case(
        org_session,
        GRID_W002,
        flags=[],
        category="land",
        people_involved=1,
        parties=[{"name": "孙某", "id_number": b_id, "role": "applicant"}],
    )
    # both earlier cases are open too; close nothing — the cross-village reason must be there besides
    both = await new_case(
        org_session,
        GRID_W001,
        flags=[],
        category="land",
        people_involved=2,
        parties=[
            {"name": "钱某", "id_number": a_id, "role": "applicant"},
            {"name": "孙某", "id_number": b_id, "role": "respondent"},
        ],
    )
    grade = await grade_of(org_session, both)
    assert grade["level"] == "complex"
    assert "当事人分属2个村(社区)，属跨村纠纷" in grade["reasons"]


async def test_parties_of_one_village_are_not_cross_village(org_session):
    one = await new_case(
        org_session,
        GRID_W001,
        flags=[],
        category="land",
        people_involved=2,
        parties=[
            {"name": "李某", "id_number": id_number(), "role": "applicant"},
            {"name": "周某", "phone": phone(), "role": "respondent"},
        ],
    )
    grade = await grade_of(org_session, one)
    assert not any("跨村" in r for r in grade["reasons"])


async def test_subject_list_shows_only_the_case_numbers_in_the_callers_scope(system):
    from tests.intake.factories import GRID_W101

    idn = id_number()
    mine, _ = await make_case(
        system,
        GRID_W001,
        flags=[],
        category="land",
        people_involved=1,
        parties=[{"name": "吴某", "id_number": idn, "role": "applicant"}],
    )
    theirs, _ = await make_case(
        system,
        GRID_W101,
        flags=[],
        category="land",
        people_involved=1,
        parties=[{"name": "吴某", "id_number": idn, "role": "applicant"}],
    )
    numbers = {(await case(system, mine, "admin"))["number"], (await case(system, theirs, "admin"))["number"]}
    (subject,) = await subjects_of(system.cases_app.state.db, mine)

    async def listed(user):
        items = (
            await system.http.get(
                f"{system.cases_url}/v1/subjects", params={"limit": 500}, headers=await system.auth(user)
            )
        ).json()["items"]
        return next(i for i in items if i["id"] == str(subject))["cases"]

    assert await listed("d001") == [(await case(system, mine))["number"]]
    assert await listed("d101") == [(await case(system, theirs, "d101"))["number"]]
    assert set(await listed("admin")) == numbers


async def test_parties_of_one_report_sharing_an_id_number_are_one_subject_linked_once_and_known_by_both_phones(
    org_session,
):
    idn, tel1, tel2 = id_number(), phone(), phone()
    first = await new_case(
        org_session,
        flags=[],
        category="neighbour",
        people_involved=2,
        parties=[
            {"name": "郑某", "id_number": idn, "phone": tel1, "role": "applicant"},
            {"name": "郑某某", "id_number": idn, "phone": tel2, "role": "respondent"},
        ],
    )
    (subject,) = await subjects_of(org_session, first)
    role = await session_scalar(org_session, "SELECT role FROM cases.subject_cases WHERE case_id = :c", c=first)
    name = await session_scalar(org_session, "SELECT name FROM cases.subjects WHERE id = :s", s=subject)
    assert role == "applicant" and name == "郑某某"  # the first party's role; the name last given
    second = await new_case(
        org_session,
        flags=[],
        category="neighbour",
        people_involved=2,
        parties=[{"name": "郑某", "phone": tel2, "role": "applicant"}],
    )
    assert await subjects_of(org_session, second) == {subject}


async def test_three_parties_cost_two_statements_on_the_subject_keys_not_two_each(org_session):
    from sqlalchemy import event

    seen: list[str] = []

    def count(conn, cursor, statement, *args):
        if "subject_keys" in statement:
            seen.append(statement)

    engine = org_session.bind.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        parties = [
            {"name": f"冯某{i}", "id_number": id_number(), "phone": phone(), "role": "applicant"} for i in range(3)
        ]
        case_id = await new_case(org_session, flags=[], category="neighbour", people_involved=3, parties=parties)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(await subjects_of(org_session, case_id)) == 3
    assert len(seen) == 2, seen
