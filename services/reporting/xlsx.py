"""XLSX adapter (openpyxl): the same registers and reports as the PDFs, as spreadsheets people can sort and sum.

Layout of a register sheet: row 1 the agency, row 2 the title, row 3 the period, row 5 the column names, row 6
their numbers (1)…(10), data from row 7. Header rows are frozen and printed on every page.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

HEADER_ROW = 5
FIRST_DATA_ROW = 7
THIN = Side(style="thin", color="000000")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
GREY = PatternFill("solid", fgColor="EEEEEE")
WRAP = Alignment(wrap_text=True, vertical="top")


def _heading(ws, organ_name: str, title: str, period_text: str, ncols: int) -> None:
    ws.cell(1, 1, organ_name.upper()).font = Font(bold=True)
    ws.cell(2, 1, title).font = Font(bold=True, size=14)
    ws.cell(3, 1, period_text)
    for row in (2, 3):
        ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=ncols)
        ws.cell(row, 1).alignment = Alignment(horizontal="center")


def _header_cells(ws, row: int, headers: Sequence[str]) -> None:
    for col, text in enumerate(headers, start=1):
        cell = ws.cell(row, col, text)
        cell.font, cell.fill, cell.border = Font(bold=True), GREY, BOX
        cell.alignment = Alignment(wrap_text=True, horizontal="center", vertical="center")


def _landscape(ws) -> None:
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True


def _save(wb: Workbook) -> bytes:
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def register_xlsx(title: str, organ_name: str, period_text: str, columns: Sequence[tuple[str, float]],
                  rows: Sequence[Sequence[str]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "So dang ky"
    _heading(ws, organ_name, title, period_text, len(columns))
    _header_cells(ws, HEADER_ROW, [c[0] for c in columns])
    _header_cells(ws, HEADER_ROW + 1, [f"({i})" for i in range(1, len(columns) + 1)])
    for col, (_name, width) in enumerate(columns, start=1):
        ws.column_dimensions[get_column_letter(col)].width = width
    for r, row in enumerate(rows, start=FIRST_DATA_ROW):
        for c, value in enumerate(row, start=1):
            cell = ws.cell(r, c, value)
            cell.alignment, cell.border = WRAP, BOX
    ws.freeze_panes = ws.cell(FIRST_DATA_ROW, 1)
    ws.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW + 1}"
    _landscape(ws)
    return _save(wb)


def sheet_title(index: int, name: str) -> str:
    """`1. name` within Excel's 31 characters, cut after a whole word ("2. Tình hình sử dụng theo", not "… theo cơ
    qu"); the number keeps the titles apart."""
    full = f"{index}. {name}"
    if len(full) <= 31:
        return full
    cut = full[:32]
    cut = cut[:cut.rindex(" ")] if " " in cut[len(f"{index}. "):] else full[:31]
    return cut.rstrip(" ,;:(-–")


def report_xlsx(title: str, organ_name: str, period_text: str,
                sections: Sequence[tuple[str, Sequence[str], Sequence[Sequence[Any]], Sequence[float]]]) -> bytes:
    """One sheet per section (its name shortened to Excel's 31 characters at a word), numbers kept as numbers."""
    wb = Workbook()
    wb.remove(wb.active)
    for index, (name, headers, rows, widths) in enumerate(sections, start=1):
        ws = wb.create_sheet(sheet_title(index, name))
        _heading(ws, organ_name, f"{title}: {name}", period_text, max(len(headers), 1))
        _header_cells(ws, HEADER_ROW, headers)
        for col, width in enumerate(widths, start=1):
            ws.column_dimensions[get_column_letter(col)].width = width
        for r, row in enumerate(rows, start=HEADER_ROW + 1):
            for c, value in enumerate(row, start=1):
                ws.cell(r, c, value).alignment = WRAP
        ws.freeze_panes = ws.cell(HEADER_ROW + 1, 1)
        _landscape(ws)
    return _save(wb)
