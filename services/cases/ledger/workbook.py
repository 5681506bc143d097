"""The ledger's .xlsx file, written with XlsxWriter in constant-memory mode: each row goes to disk as it
is written, the finished workbook is a file in a private temporary folder that the caller reads out in
chunks and then removes. Text is always a text cell (never a formula), numbers are numbers, instants are
Excel date-times on China's wall clock."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import IO

import xlsxwriter

from shared.clock import CHINA_TZ

MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"

Cell = str | int | Decimal | datetime | None


class LedgerWorkbook:
    """One sheet: a frozen, filtered header row, then `add` rows in order; `finish` returns the file.
    The blocking calls (writing rows, zipping the file) belong in a worker thread."""

    def __init__(self, sheet_name: str, header: Sequence[str], widths: Sequence[int]) -> None:
        self._folder = Path(tempfile.mkdtemp(prefix="ledger-"))
        self.path = self._folder / "ledger.xlsx"
        self._book = xlsxwriter.Workbook(
            str(self.path), {"constant_memory": True, "tmpdir": str(self._folder), "strings_to_formulas": False}
        )
        self._sheet = self._book.add_worksheet(sheet_name)
        self._bold = self._book.add_format({"bold": True})
        self._when = self._book.add_format({"num_format": DATETIME_FORMAT})
        self._columns = len(header)
        for col, width in enumerate(widths):
            self._sheet.set_column(col, col, width)
        for col, title in enumerate(header):
            self._sheet.write_string(0, col, title, self._bold)
        self._sheet.freeze_panes(1, 0)
        self._rows = 1

    def add(self, rows: Iterable[Sequence[Cell]]) -> None:
        for values in rows:
            for col, value in enumerate(values):
                self._cell(self._rows, col, value)
            self._rows += 1

    def _cell(self, row: int, col: int, value: Cell) -> None:
        if value is None:
            return
        if isinstance(value, datetime):
            self._sheet.write_datetime(row, col, value.astimezone(CHINA_TZ).replace(tzinfo=None), self._when)
        elif isinstance(value, int | Decimal):
            self._sheet.write_number(row, col, float(value))
        else:
            self._sheet.write_string(row, col, value)

    def finish(self) -> Path:
        """Close the workbook (header filter over every written row) and return its file."""
        self._sheet.autofilter(0, 0, max(self._rows - 1, 0), self._columns - 1)
        self._book.close()
        return self.path

    def open(self) -> IO[bytes]:
        return self.path.open("rb")

    def discard(self) -> None:
        """Remove the workbook and XlsxWriter's row files, finished or not."""
        shutil.rmtree(self._folder, ignore_errors=True)
