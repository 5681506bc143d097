"""The mediator register (调解员名册): loaded with the org document, named by `resolve` (以案计补)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.cases.mediator import repository as repo
from services.cases.mediator.exceptions import UnknownMediator
from services.cases.mediator.schemas import MediatorDoc


def area_errors(docs: list[MediatorDoc], known_areas: set[str]) -> list[dict[str, Any]]:
    """The org document's errors of the register: a mediator's area must exist (checked with the rest of
    the document, so a bad document imports nothing)."""
    errors: list[dict[str, Any]] = []
    for i, m in enumerate(docs):
        if m.area not in known_areas:
            errors.append(
                {"loc": ["body", "mediators", i, "area"], "msg": f"区域 {m.area} 不存在", "type": "unknown_area"}
            )
    codes = [m.code for m in docs]
    if len(set(codes)) != len(codes):
        errors.append({"loc": ["body", "mediators"], "msg": "调解员编码重复", "type": "duplicate"})
    return errors


async def import_register(session: AsyncSession, docs: list[MediatorDoc], now: datetime) -> tuple[int, int]:
    """Upsert the register by code; returns (created, updated)."""
    codes = [m.code for m in docs]
    known = await repo.existing_codes(session, codes)
    await repo.upsert(
        session,
        [
            {
                "code": m.code,
                "name": m.name,
                "area_code": m.area,
                "kind": m.kind,
                "committee": m.committee,
                "active": m.active,
                "now": now,
            }
            for m in docs
        ],
    )
    return len(set(codes) - known), len(known)


async def check_codes(session: AsyncSession, codes: list[str], loc: tuple[str | int, ...]) -> None:
    """Every code names a mediator in the register and not retired; else a 422 naming the first bad one
    (`loc` + its index)."""
    active = await repo.active_codes(session, sorted(set(codes)))
    for i, code in enumerate(codes):
        if code not in active:
            raise UnknownMediator((*loc, i), f"调解员 {code} 不存在或已退出名册")


async def in_area(session: AsyncSession, areas: list[str] | None) -> list[Any]:
    """The register below any of `areas` (None: all), retired mediators too, with the area's name."""
    return await repo.in_area(session, areas)
