"""The attainment table as files: CSV (UTF-8 with a BOM, which Excel needs to read Chinese) and Excel.

Both take the very headers and cells the page shows (`sla_report.attainment_table`). Cells that a
spreadsheet would run as a formula get a leading apostrophe (CSV injection); only staff names are free
text here, but a name is typed by people.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from zhishui.center.sla_report import Cell

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _inert(cell: Cell) -> Cell:
    if isinstance(cell, str) and cell.startswith(FORMULA_STARTS):
        return "'" + cell
    return cell


def csv_bytes(headers: Sequence[str], rows: Sequence[Sequence[Cell]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(headers)
    for row in rows:
        writer.writerow([_inert(c) for c in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def xlsx_bytes(title: str, headers: Sequence[str], rows: Sequence[Sequence[Cell]]) -> bytes:
    """One sheet: a title line, the headers in bold, the rows (counts stay numbers)."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "服务时限达标"
    sheet.append([title])
    sheet.append(list(headers))
    for cell in sheet[2]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append([_inert(c) for c in row])
    for index, header in enumerate(headers, start=1):
        width = max([len(header), *(len(str(r[index - 1])) for r in rows)]) * 2 + 2
        sheet.column_dimensions[get_column_letter(index)].width = min(width, 40)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
