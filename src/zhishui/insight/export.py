"""Any table the insight pages show, as an Excel workbook (openpyxl).

A page builds a `Table` once and both renders it and exports it, so the file is the table: same
headers (Chinese), same rows, same order. Counts stay numbers; other cells are the text the page
prints. A cell a spreadsheet would run as a formula gets a leading apostrophe.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import quote

from fastapi.responses import Response
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

Cell = str | int | float
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
SHEET_NAME_MAX = 31  # Excel's limit
FORBIDDEN_IN_SHEET_NAMES = "[]:*?/\\"


@dataclass(frozen=True)
class Table:
    key: str  # names the table in `?table=`
    title: str
    headers: tuple[str, ...]
    rows: list[list[Cell]]


def inert(cell: Cell) -> Cell:
    # "-3.1%" is a change, not a formula, but a spreadsheet would read it as one: quote all alike.
    if isinstance(cell, str) and cell.startswith(FORMULA_STARTS):
        return "'" + cell
    return cell


def sheet_name(title: str) -> str:
    cleaned = "".join("_" if c in FORBIDDEN_IN_SHEET_NAMES else c for c in title)
    return cleaned[:SHEET_NAME_MAX] or "Sheet1"


def xlsx_bytes(table: Table, *, caption: str = "") -> bytes:
    """One sheet: an optional caption line, the headers in bold, then the rows."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = sheet_name(table.title)
    if caption:
        sheet.append([caption])
    sheet.append(list(table.headers))
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)
    for row in table.rows:
        sheet.append([inert(c) for c in row])
    for index, header in enumerate(table.headers, start=1):
        width = max([len(header), *(len(str(r[index - 1])) for r in table.rows)]) * 2 + 2
        sheet.column_dimensions[get_column_letter(index)].width = min(width, 40)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def xlsx_response(table: Table, file_stem: str, *, caption: str = "") -> Response:
    """The workbook as a download named `file_stem`.xlsx (UTF-8 name for browsers that take it)."""
    name = f"{file_stem}.xlsx"
    ascii_name = name.encode("ascii", "replace").decode().replace("?", "_")
    return Response(
        xlsx_bytes(table, caption=caption),
        media_type=XLSX_MEDIA_TYPE,
        headers={
            "Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}",
            "Cache-Control": "no-store",
        },
    )


def find(tables: Sequence[Table], key: str | None) -> Table | None:
    return next((t for t in tables if t.key == key), None)
