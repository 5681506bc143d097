"""Notice numbers taken for many counters at once: each counter moves by what was wanted of it, whatever the
order the keys come in (they are locked in key order, not in the order given)."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.cases.notice.repository import take_numbers


async def test_each_counter_moves_by_its_own_count_in_any_key_order(db_session: AsyncSession) -> None:
    year = 2031
    later, earlier = ("620602108", year, "risk_warning"), ("620602107", year, "risk_warning")
    first = await take_numbers(db_session, {later: 3, earlier: 1})  # given out of key order
    assert first == {later: 3, earlier: 1}
    second = await take_numbers(db_session, {earlier: 2, later: 5})
    assert second == {later: 8, earlier: 3}
    stored = dict(
        (
            await db_session.execute(
                text("SELECT area_code, last FROM cases.notice_counters WHERE year = :y"), {"y": year}
            )
        ).all()
    )
    assert stored == {"620602108": 8, "620602107": 3}
