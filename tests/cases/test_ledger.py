"""The ledger (台账): CSV with formula-looking cells neutralised, .xlsx as a real typed workbook."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import openpyxl
import pytest_asyncio

from tests.intake.factories import GRID_W001, report

CHINA = ZoneInfo("Asia/Shanghai")
EVIL_TITLES = ['=HYPERLINK("http://x","y")', "+1+2", "-3+4", "@SUM(A1)", "\tTAB", "\rCR"]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def evil_cases(system):
    """Cases pushed from a phone whose titles look like spreadsheet formulas; their report ids by title."""
    items = [report(grid=GRID_W001, title=title, people_involved=7, amount_cny="1234.50") for title in EVIL_TITLES]
    resp = await system.http.post(
        f"{system.intake_url}/v1/sync/push",
        json={"device_id": "dev-w001", "items": items},
        headers=await system.auth("w001", "dev-w001"),
    )
    assert [r["status"] for r in resp.json()["results"]] == ["accepted"] * len(items), resp.text
    await system.drain()
    numbers = {}
    for item in items:
        page = (
            await system.http.get(
                f"{system.cases_url}/v1/cases", params={"report": item["id"]}, headers=await system.auth("admin")
            )
        ).json()
        numbers[item["title"]] = page["items"][0]["number"]
    return numbers


async def test_csv_ledger_escapes_cells_that_a_spreadsheet_would_run_as_formulas(system, evil_cases):
    resp = await system.http.get(
        f"{system.cases_url}/v1/cases", params={"format": "csv", "limit": 500}, headers=await system.auth("l001")
    )
    assert resp.status_code == 200
    rows = list(csv.reader(io.StringIO(resp.text.lstrip("\ufeff"), newline="")))
    header = rows[0]
    by_number = {r[0]: dict(zip(header, r, strict=True)) for r in rows[1:]}
    for title, number in evil_cases.items():
        assert by_number[number]["标题"] == "'" + title
    assert all(not cell or cell[0] not in "=+-@\t\r" for row in rows for cell in row)


async def test_xlsx_ledger_is_a_typed_workbook_with_frozen_header_and_filter(system, evil_cases):
    hdrs = await system.auth("l001")
    params = {"area": "620602107"}
    resp = await system.http.get(f"{system.cases_url}/v1/cases", params=params | {"format": "xlsx"}, headers=hdrs)
    assert resp.status_code == 200 and resp.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    book = openpyxl.load_workbook(io.BytesIO(resp.content))
    sheet = book.worksheets[0]
    assert sheet.title == "台账"
    rows = list(sheet.iter_rows())
    header = [c.value for c in rows[0]]
    assert header[:2] == ["案件编号", "状态"] and "受理时间" in header and "涉及人数" in header
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref is not None and sheet.auto_filter.ref.startswith("A1:")
    cells = {r[0].value: dict(zip(header, r, strict=True)) for r in rows[1:]}
    # the same cases, in the same order, as the CSV of that filter
    csv_text = (
        await system.http.get(f"{system.cases_url}/v1/cases", params=params | {"format": "csv"}, headers=hdrs)
    ).text
    csv_rows = list(csv.reader(io.StringIO(csv_text.lstrip("\ufeff"), newline="")))
    assert [r[0].value for r in rows[1:]] == [r[0] for r in csv_rows[1:]]
    assert [c.value for c in rows[0]] == csv_rows[0]
    csv_by_number = {r[0]: r for r in csv_rows[1:]}
    for title, number in evil_cases.items():
        row = cells[number]
        # an xlsx text cell is never a formula: the title is kept as written, typed as a string
        # (Excel writes a control character as _xHHHH_ and reads it back as the character)
        assert _unescape(row["标题"].value) == title and row["标题"].data_type == "s"
        assert row["状态"].data_type == "s"
        assert row["涉及人数"].value == 7 and row["涉及人数"].data_type == "n"
        assert Decimal(str(row["涉及金额（元）"].value)) == Decimal("1234.50")
        received = row["受理时间"]
        assert isinstance(received.value, datetime) and received.is_date
        assert "yyyy" in received.number_format
        # China time, the wall clock of the CSV's instant (Excel keeps milliseconds)
        instant = datetime.fromisoformat(csv_by_number[number][header.index("受理时间")])
        assert abs(received.value - instant.astimezone(CHINA).replace(tzinfo=None)) < timedelta(milliseconds=1)
    assert (
        await system.http.get(
            f"{system.cases_url}/v1/cases", params={"format": "xlsx"}, headers=await system.auth("w001", "dev-w001")
        )
    ).status_code == 404


def _unescape(text: str) -> str:
    return re.sub(r"_x([0-9A-Fa-f]{4})_", lambda m: chr(int(m.group(1), 16)), text)
