"""Fixtures of notify's tests: the notify app (test rows cleaned before and after), the admin's headers,
and the clock held still."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import pytest_asyncio

from shared.clock import ManualClock
from tests.notify.factories import cleanup
from tests.support import manual_clock as held_clock


@pytest_asyncio.fixture(loop_scope="session")
async def notify_app(system: Any) -> AsyncIterator[Any]:
    app = system.services["notify"].app
    await cleanup(app.state.db)
    yield app
    await cleanup(app.state.db)


@pytest_asyncio.fixture(loop_scope="session")
async def admin(system: Any) -> dict[str, str]:
    return await system.auth("admin")


@pytest.fixture
def manual_clock(admin: dict[str, str]) -> Iterator[ManualClock]:
    """The clock stands still from the real now and moves only when told (tokens are issued before)."""
    with held_clock() as held:
        yield held
