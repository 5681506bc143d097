"""The ledger (台账): the case list of a filter as CSV or .xlsx, streamed page by page, each page read in
its own short unit of work (any size, no long transaction). Served by GET /v1/cases (format=csv|xlsx or
the Accept header), so it has no router of its own; it reads the cases through the case service."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from services.cases.case.models import CaseRow
from services.cases.case.service import ledger_page, scope_of
from services.cases.vocabulary import STATE_ZH
from shared.auth import Principal
from shared.db import Database
from shared.xlsx import Workbook

LEDGER_COLUMNS = ["案件编号", "状态", "类型", "类别", "标题", "网格", "层级", "等级", "受理时间", "更新时间"]
PAGE_SIZE = 1000


def _ledger_row(r: CaseRow) -> list[str]:
    return [
        r.number,
        STATE_ZH.get(r.state, r.state),
        r.kind,
        r.category or "",
        r.title or "",
        r.area_code,
        r.tier or "",
        r.level or "",
        r.created_at.isoformat(),
        r.updated_at.isoformat(),
    ]


def ledger_csv(db: Database, principal: Principal, filters: dict[str, Any]) -> AsyncIterator[str]:
    """The ledger as CSV, any size. The caller's scope is checked before the first byte is sent."""
    return _ledger_rows(db, scope_of(principal), filters)


async def _ledger_rows(db: Database, scope: dict[str, Any], filters: dict[str, Any]) -> AsyncIterator[str]:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(LEDGER_COLUMNS)
    yield "\ufeff" + buf.getvalue()
    async for rows in _ledger_pages(db, scope, filters):
        buf = io.StringIO()
        writer = csv.writer(buf)
        for r in rows:
            writer.writerow(_ledger_row(r))
        yield buf.getvalue()


async def _ledger_pages(
    db: Database, scope: dict[str, Any], filters: dict[str, Any], size: int = PAGE_SIZE
) -> AsyncIterator[list[CaseRow]]:
    """The ledger's cases page by page, each page in its own short unit of work."""
    after: tuple[datetime, uuid.UUID] | None = None
    while True:
        async with db.unit_of_work() as session:
            rows = await ledger_page(session, scope, filters, after, size)
        if not rows:
            return
        yield rows
        after = (rows[-1].created_at, rows[-1].id)


def ledger_xlsx(db: Database, principal: Principal, filters: dict[str, Any]) -> AsyncIterator[bytes]:
    """The ledger as .xlsx: the same filter and columns as the CSV, built page by page."""
    return _ledger_xlsx(db, scope_of(principal), filters)


async def _ledger_xlsx(db: Database, scope: dict[str, Any], filters: dict[str, Any]) -> AsyncIterator[bytes]:
    book = Workbook("台账")
    book.add(LEDGER_COLUMNS)
    async for rows in _ledger_pages(db, scope, filters):
        for r in rows:
            book.add(_ledger_row(r))
    for chunk in book.chunks():
        yield chunk
