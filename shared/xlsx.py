"""A minimal .xlsx (Office Open XML SpreadsheetML) writer: one sheet of text cells (inline strings),
written row by row into a zip on a spooled temporary file, then read back in chunks — any number of
rows in bounded memory, no third-party package."""

from __future__ import annotations

import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from typing import IO, Any
from xml.sax.saxutils import escape

_XML_DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
_PACKAGE = "http://schemas.openxmlformats.org/package/2006"
_OFFICE_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_SHEET_ML = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_OOXML_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml"
_CONTENT_TYPES = "\n".join(
    (
        _XML_DECL,
        f'<Types xmlns="{_PACKAGE}/content-types">',
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>',
        '<Default Extension="xml" ContentType="application/xml"/>',
        f'<Override PartName="/xl/workbook.xml" ContentType="{_OOXML_TYPE}.sheet.main+xml"/>',
        f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{_OOXML_TYPE}.worksheet+xml"/>',
        "</Types>",
    )
)
_RELS = "\n".join(
    (
        _XML_DECL,
        f'<Relationships xmlns="{_PACKAGE}/relationships">',
        f'<Relationship Id="rId1" Type="{_OFFICE_RELS}/officeDocument" Target="xl/workbook.xml"/>',
        "</Relationships>",
    )
)
_WORKBOOK = "\n".join(
    (
        _XML_DECL,
        f'<workbook xmlns="{_SHEET_ML}" xmlns:r="{_OFFICE_RELS}">',
        '<sheets><sheet name="{name}" sheetId="1" r:id="rId1"/></sheets>',
        "</workbook>",
    )
)
_WORKBOOK_RELS = "\n".join(
    (
        _XML_DECL,
        f'<Relationships xmlns="{_PACKAGE}/relationships">',
        f'<Relationship Id="rId1" Type="{_OFFICE_RELS}/worksheet" Target="worksheets/sheet1.xml"/>',
        "</Relationships>",
    )
)
_SHEET_HEAD = f'{_XML_DECL}\n<worksheet xmlns="{_SHEET_ML}"><sheetData>'
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
        # the file outlives this call: `chunks()` closes it once the workbook has been read out
        self._file: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=8 << 20)  # noqa: SIM115
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
