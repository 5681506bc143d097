"""The ledger (台账): the case list of a filter as CSV or .xlsx, streamed page by page, each page read in
its own short unit of work (any size, no long transaction). Served by GET /v1/cases (format=csv|xlsx or
the Accept header), so it has no router of its own; it reads the cases through the case service."""

from __future__ import annotations

import asyncio
import csv
import io
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from decimal import Decimal
from typing import Any

from services.cases.case.models import CaseRow
from services.cases.case.service import ledger_page, mask_party, scope_of
from services.cases.ledger.workbook import MEDIA_TYPE, Cell, LedgerWorkbook
from services.cases.vocabulary import CHANNEL_ZH, OUTCOME_ZH, SATISFACTION_ZH, STATE_ZH
from shared.auth import Principal
from shared.db import Database
from shared.pii import PiiCipher

__all__ = ["LEDGER_COLUMNS", "XLSX_MEDIA_TYPE", "ledger_csv", "ledger_xlsx"]

XLSX_MEDIA_TYPE = MEDIA_TYPE
LEDGER_COLUMNS = [
    "案件编号",
    "状态",
    "类型",
    "类别",
    "标题",
    "网格",
    "层级",
    "等级",
    "涉及人数",
    "涉及金额（元）",
    "受理时间",
    "更新时间",
    "来源渠道",
    "12345工单号",
    "当事人",
    "化解结果",
    "责任单位",
    "参与部门",
    "满意度",
]
COLUMN_WIDTHS = [20, 10, 12, 14, 40, 18, 10, 10, 10, 14, 20, 20, 14, 20, 50, 14, 16, 30, 12]
ROLE_ZH = {"lead": "牵头", "assist": "协办"}
PARTY_ROLE_ZH = {"applicant": "申请人", "respondent": "被申请人", "third_party": "第三人", "witness": "证人"}
PAGE_SIZE = 1000
CHUNK_SIZE = 64 * 1024
# a spreadsheet runs a cell that starts so as a formula (OWASP "CSV injection")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _parties(cipher: PiiCipher, parties: list[dict[str, Any]] | None) -> str:
    """The parties as a ledger cell: name, role, the ID number and phone masked (never in full)."""
    out = []
    for p in parties or []:
        masked = mask_party(cipher, p)
        bits = [b for b in (masked.id_number, masked.phone) if b]
        role = PARTY_ROLE_ZH.get(masked.role or "", masked.role)
        who = (masked.name or "（未具名）") + (f"（{role}）" if role else "")
        out.append(who + (" " + " ".join(bits) if bits else ""))
    return "；".join(out)


def _departments(codes: list[str] | None) -> str:
    out = []
    for entry in codes or []:
        code, _, role = entry.rpartition(":")
        out.append(f"{code}（{ROLE_ZH.get(role, role)}）")
    return "、".join(out)


def _ledger_row(r: CaseRow, cipher: PiiCipher) -> list[Cell]:
    outcome = getattr(r, "outcome", None)  # the ledger's own columns (case.service.ledger_page)
    satisfaction = r.satisfaction
    return [
        r.number,
        STATE_ZH.get(r.state, r.state),
        r.kind,
        r.category,
        r.title,
        r.area_code,
        r.tier,
        r.level,
        r.people_involved,
        r.amount_cny,
        r.created_at,
        r.updated_at,
        CHANNEL_ZH.get(r.channel, r.channel),
        r.external_ref,
        _parties(cipher, r.parties),
        OUTCOME_ZH.get(outcome, outcome) if outcome else None,
        r.responsible_unit,
        _departments(getattr(r, "departments", None)),
        SATISFACTION_ZH.get(satisfaction, satisfaction) if satisfaction else None,
    ]


def csv_cell(value: Cell) -> str:
    """A cell as CSV text; text that a spreadsheet would take for a formula gets a leading quote."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, int | Decimal):
        return str(value)
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def ledger_csv(db: Database, principal: Principal, filters: dict[str, Any], cipher: PiiCipher) -> AsyncIterator[str]:
    """The ledger as CSV, any size. The caller's scope is checked before the first byte is sent."""
    return _ledger_rows(db, scope_of(principal), filters, cipher)


async def _ledger_rows(
    db: Database, scope: dict[str, Any], filters: dict[str, Any], cipher: PiiCipher
) -> AsyncIterator[str]:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(LEDGER_COLUMNS)
    yield "\ufeff" + buf.getvalue()
    async for rows in _ledger_pages(db, scope, filters):
        buf = io.StringIO()
        writer = csv.writer(buf)
        for r in rows:
            writer.writerow([csv_cell(v) for v in _ledger_row(r, cipher)])
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


def ledger_xlsx(db: Database, principal: Principal, filters: dict[str, Any], cipher: PiiCipher) -> AsyncIterator[bytes]:
    """The ledger as .xlsx: the same filter and columns as the CSV, typed cells, any size."""
    return _ledger_xlsx(db, scope_of(principal), filters, cipher)


async def _ledger_xlsx(
    db: Database, scope: dict[str, Any], filters: dict[str, Any], cipher: PiiCipher
) -> AsyncIterator[bytes]:
    # rows go to disk page by page (XlsxWriter's constant memory), the zip is built at the end; the
    # blocking work runs in a thread and the file is removed however the download ends
    book = await asyncio.to_thread(LedgerWorkbook, "台账", LEDGER_COLUMNS, COLUMN_WIDTHS)
    try:
        async for rows in _ledger_pages(db, scope, filters):
            await asyncio.to_thread(book.add, [_ledger_row(r, cipher) for r in rows])
        await asyncio.to_thread(book.finish)
        file = await asyncio.to_thread(book.open)
        try:
            while chunk := await asyncio.to_thread(file.read, CHUNK_SIZE):
                yield chunk
        finally:
            file.close()
    finally:
        await asyncio.to_thread(book.discard)
