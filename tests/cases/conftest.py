"""Fixtures of the cases tests (the live `system` and the rolled-back `db_session` come from tests/conftest.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncSession

from tests.cases.factories import demo_org


@pytest_asyncio.fixture(loop_scope="session")
async def org_session(db_session: AsyncSession) -> AsyncIterator[AsyncSession]:
    """A rolled-back session in which the demo org is imported (areas, departments, users)."""
    await demo_org(db_session)
    yield db_session


@pytest.fixture
def year_2027_is_an_estimate(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A year the workday calendar must estimate: 2027 is held unpublished by chinese-calendar whatever version
    is installed, so the tests of estimated years run (never skip) after the package learns 2027."""
    from services.cases.calendar import calendar as calendar_module

    known = calendar_module._official_known
    monkeypatch.setattr(calendar_module, "_official_known", lambda year: year != 2027 and known(year))
    calendar_module._official_year.cache_clear()
    yield
    calendar_module._official_year.cache_clear()
