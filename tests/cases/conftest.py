"""Fixtures of the cases tests (the live `system` and the rolled-back `db_session` come from tests/conftest.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncSession

from tests.cases.factories import demo_org


@pytest_asyncio.fixture(loop_scope="session")
async def org_session(db_session: AsyncSession) -> AsyncIterator[AsyncSession]:
    """A rolled-back session in which the demo org is imported (areas, departments, users)."""
    await demo_org(db_session)
    yield db_session
