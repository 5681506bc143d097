"""A minimal .xlsx (Office Open XML SpreadsheetML) writer: one sheet of text cells (inline strings),
written row by row into a zip on a spooled temporary file, then read back in chunks — any number of
rows in bounded memory, no third-party package."""

from __future__ import annotations

import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from typing import IO, Any
from xml.sax.saxutils import escape

_CONTENT_TYPES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>
<Default Extension="xml" ContentType="application/xml"/>
<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>
<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>
</Types>"""
_RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>
</Relationships>"""
_WORKBOOK = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">
<sheets><sheet name="{name}" sheetId="1" r:id="rId1"/></sheets>
</workbook>"""
_WORKBOOK_RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>
</Relationships>"""
_SHEET_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
_SHEET_TAIL = "</sheetData></worksheet>"
MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _col(i: int) -> str:
    name = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        name = chr(65 + r) + name
    return name


def _clean(value: Any) -> str:
    text = "" if value is None else str(value)
    return escape("".join(ch for ch in text if ch in "\t\n\r" or ord(ch) >= 32))  # XML 1.0 has no control characters


def row_xml(n: int, values: Iterable[Any]) -> str:
    cells = "".join(
        f'<c r="{_col(i)}{n}" t="inlineStr"><is><t xml:space="preserve">{_clean(v)}</t></is></c>'
        for i, v in enumerate(values)
    )
    return f'<row r="{n}">{cells}</row>'


class Workbook:
    """Open, add rows, then `chunks()` the finished file."""

    def __init__(self, sheet_name: str = "Sheet1") -> None:
        self._file: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=8 << 20)
        self._zip = zipfile.ZipFile(self._file, "w", compression=zipfile.ZIP_DEFLATED)
        for name, body in (
            ("[Content_Types].xml", _CONTENT_TYPES),
            ("_rels/.rels", _RELS),
            ("xl/workbook.xml", _WORKBOOK.format(name=_clean(sheet_name))),
            ("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS),
        ):
            self._zip.writestr(name, body)
        self._sheet = self._zip.open("xl/worksheets/sheet1.xml", "w", force_zip64=True)
        self._sheet.write(_SHEET_HEAD.encode())
        self._rows = 0

    def add(self, values: Iterable[Any]) -> None:
        self._rows += 1
        self._sheet.write(row_xml(self._rows, values).encode())

    def chunks(self, size: int = 64 * 1024) -> Iterator[bytes]:
        self._sheet.write(_SHEET_TAIL.encode())
        self._sheet.close()
        self._zip.close()
        self._file.seek(0)
        try:
            while chunk := self._file.read(size):
                yield chunk
        finally:
            self._file.close()
