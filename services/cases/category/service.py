"""The dispute categories (矛盾纠纷类别): data in the org document (`categories`, upserted by code; DOMAIN.md's
list is the default the migration seeds), checked on import, used to check a case's category, and sent with
the directory to intake (the phones' reference data)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.cases.category import repository as repo
from services.cases.category.exceptions import UnknownCategory
from services.cases.category.schemas import CategoryDoc, CategoryItem, CategoryList


def document_errors(docs: list[CategoryDoc]) -> list[dict[str, Any]]:
    """The org document's errors of the category list (checked with the rest of it: a bad document
    imports nothing)."""
    seen: set[str] = set()
    errors: list[dict[str, Any]] = []
    for i, c in enumerate(docs):
        if c.code in seen:
            errors.append(
                {"loc": ["body", "categories", i, "code"], "msg": f"类别编码 {c.code} 重复", "type": "duplicate"}
            )
        seen.add(c.code)
    return errors


async def import_categories(session: AsyncSession, docs: list[CategoryDoc], now: datetime) -> tuple[int, int]:
    """Upsert the document's categories by code (those it does not name stay as they are); (created, updated)."""
    return await repo.upsert(session, [c.model_dump() for c in docs], now)


async def live(session: AsyncSession) -> list[dict[str, str]]:
    """The live categories as the directory carries them: [{code, name}] in list order."""
    return [{"code": r.code, "name": r.name} for r in await repo.active(session)]


async def list_categories(session: AsyncSession) -> CategoryList:
    return CategoryList(items=[CategoryItem(code=r.code, name=r.name) for r in await repo.active(session)])


async def check(session: AsyncSession, kind: str, category: str | None, loc: Sequence[str | int]) -> None:
    """A dispute must carry a live category (a 422 naming `loc` otherwise); other kinds' categories are free."""
    if kind != "dispute":
        return
    if category is None or not await repo.is_active(session, category):
        raise UnknownCategory(loc)
