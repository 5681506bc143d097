"""All SQL of department webhook endpoints."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.notify.endpoint.models import endpoints


async def get(session: AsyncSession, code: str) -> Any | None:
    return (await session.execute(select(endpoints).where(endpoints.c.department_code == code))).first()


async def lock_or_create(session: AsyncSession, code: str, url: str, now: datetime, source: str) -> tuple[Any, bool]:
    """The endpoint row locked for change; created (active, no secrets, set by `source`) if it did not exist."""
    inserted = (
        await session.execute(
            pg_insert(endpoints)
            .values(department_code=code, url=url, secrets=[], state="active", source=source, updated_at=now)
            .on_conflict_do_nothing(index_elements=["department_code"])
            .returning(endpoints.c.department_code)
        )
    ).first()
    row = (
        await session.execute(select(endpoints).where(endpoints.c.department_code == code).with_for_update())
    ).first()
    return row, inserted is not None


async def save(session: AsyncSession, code: str, **values: Any) -> Any:
    result = await session.execute(
        update(endpoints).where(endpoints.c.department_code == code).values(**values).returning(*endpoints.c)
    )
    return result.first()


async def load_many(session: AsyncSession, codes: Sequence[str]) -> list[Any]:
    if not codes:
        return []
    return list((await session.execute(select(endpoints).where(endpoints.c.department_code.in_(list(codes))))).all())


async def disable(session: AsyncSession, reasons: dict[str, str], now: datetime) -> None:
    """Disable endpoints (a 410 Gone from the department system), each with its reason."""
    for code, reason in reasons.items():
        await session.execute(
            update(endpoints)
            .where(endpoints.c.department_code == code)
            .values(state="disabled", disabled_reason=reason, updated_at=now)
        )
