"""Rendering a monthly draft as the report form: XLSX (openpyxl) and CSV (UTF-8 with BOM, for Excel).

Both keep the seed layout: the title, the header line (填报单位 … 填报时间), the column headers, the
rows, and the footer (填报人 … 联系电话). Text is always written as text: a cell starting with '=' is
never a formula in the workbook, and in the CSV such cells get a leading apostrophe (the usual guard
against formula injection when the file is opened in a spreadsheet).
"""

from __future__ import annotations

import csv
import io
import math
import unicodedata
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.page import PageMargins
from openpyxl.worksheet.worksheet import Worksheet

from riskmine.reports.monthly import MonthlyDraft

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
# Column widths in characters (a CJK character counts 2). Each form adds up to about 170, which prints
# on A4 landscape at about 85% (the sheet is set to fit the page width; long text wraps downwards).
COLUMN_WIDTHS: dict[str, float] = {
    "涉及产品": 14,
    "涉及企业数量": 10,
    "涉及区域": 16,
    "风险信息内容": 40,
    "信息分析": 40,
    "初步建议": 26,
    "信息来源": 24,
    "序号": 6,
    "关键词": 12,
    "评论关键词": 18,
    "时间采集范围": 22,
    "差评数": 8,
    "评论数": 8,
    "店铺名称": 18,
    "商品名称": 22,
    "商品地址": 28,
    "商品价格": 10,
    "公司所在区域": 14,
}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_THIN = Side(style="thin", color="000000")
_BOX = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_LINE_HEIGHT = 15.0  # points per line of 11-point text
_MAX_ROW_HEIGHT = 409.0  # Excel's limit
PAGE_FOOTER = "第 &P 页，共 &N 页"


def header_line(draft: MonthlyDraft) -> tuple[str, str]:
    return f"填报单位：{draft.organisation}", f"填报时间：{draft.filled_at:%Y年%m月%d日}"


def footer_line(draft: MonthlyDraft) -> tuple[str, str]:
    return f"填报人：{draft.filled_by}", f"联系电话：{draft.phone}"


def _title(draft: MonthlyDraft) -> str:
    return draft.title + (draft.subtitle or "")


def render_xlsx(draft: MonthlyDraft) -> bytes:
    """The form as an XLSX workbook with one sheet."""
    wb = Workbook()
    ws = wb.active
    ws.title = "报送表"
    n = len(draft.columns)
    last = get_column_letter(n)
    half = max(1, n // 2)

    _set(ws.cell(row=1, column=1), _title(draft))
    ws.merge_cells(f"A1:{last}1")
    ws["A1"].font = Font(bold=True, size=14)
    ws["A1"].alignment = Alignment(horizontal="center", vertical="center")
    ws.row_dimensions[1].height = 28

    unit, when = header_line(draft)
    _set(ws.cell(row=2, column=1), unit)
    _set(ws.cell(row=2, column=half + 1), when)
    if half > 1:
        ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=half)
    if n > half + 1:
        ws.merge_cells(start_row=2, start_column=half + 1, end_row=2, end_column=n)

    header_row = 3
    for col, name in enumerate(draft.columns, start=1):
        cell = ws.cell(row=header_row, column=col)
        _set(cell, name)
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="D9E1F2")
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        cell.border = _BOX
        ws.column_dimensions[get_column_letter(col)].width = COLUMN_WIDTHS.get(name, 16)
    for r, row in enumerate(draft.rows, start=header_row + 1):
        for col, name in enumerate(draft.columns, start=1):
            value = row.cells.get(name)
            cell = ws.cell(row=r, column=col)
            _set(cell, value)
            cell.alignment = Alignment(vertical="top", wrap_text=True)
            cell.border = _BOX
            if name == "商品价格" and isinstance(value, int | float):
                cell.number_format = "0.00"
    ws.freeze_panes = ws.cell(row=header_row + 1, column=1)
    for r in range(header_row, header_row + len(draft.rows) + 1):
        ws.row_dimensions[r].height = _row_height(ws, r, n)

    footer_row = header_row + len(draft.rows) + 2
    filler, phone = footer_line(draft)
    _set(ws.cell(row=footer_row, column=1), filler)
    _set(ws.cell(row=footer_row, column=half + 1), phone)
    if draft.notes:
        note = ws.cell(row=footer_row + 1, column=1)
        _set(note, "注：" + "；".join(draft.notes))
        note.alignment = Alignment(vertical="top", wrap_text=True)
        ws.merge_cells(start_row=footer_row + 1, start_column=1, end_row=footer_row + 1, end_column=n)
        ws.row_dimensions[footer_row + 1].height = _row_height(ws, footer_row + 1, n, merged=True)
    _print_setup(ws, header_row, footer_row + (1 if draft.notes else 0), n)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def _print_setup(ws: Worksheet, header_row: int, last_row: int, n: int) -> None:
    """A4 landscape, fitted to the page width (as many pages down as it takes), the column headers
    repeated on every page, narrow margins, page numbers in the footer."""
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = ws.ORIENTATION_LANDSCAPE
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True  # without it Excel ignores fitToWidth
    ws.page_margins = PageMargins(left=0.4, right=0.4, top=0.5, bottom=0.6, header=0.3, footer=0.3)
    ws.print_options.horizontalCentered = True
    ws.print_title_rows = f"{header_row}:{header_row}"
    ws.print_area = f"A1:{get_column_letter(n)}{last_row}"
    ws.oddFooter.center.text = PAGE_FOOTER


def display_width(text: str) -> int:
    """Width in spreadsheet characters: East Asian wide and fullwidth characters count 2."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _row_height(ws: Worksheet, row: int, n: int, *, merged: bool = False) -> float:
    """A height that shows every wrapped line of the row's cells (openpyxl cannot measure text, and
    Excel does not refit rows on opening a file)."""
    lines = 1
    for col in range(1, n + 1):
        value = ws.cell(row=row, column=col).value
        if value is None or value == "":
            continue
        letters = range(1, n + 1) if merged else (col,)
        width = sum(ws.column_dimensions[get_column_letter(c)].width or 16 for c in letters)
        usable = max(1.0, width - 1)
        cell_lines = sum(max(1, math.ceil(display_width(part) / usable)) for part in str(value).splitlines() or [""])
        lines = max(lines, cell_lines)
        if merged:
            break
    return min(_MAX_ROW_HEIGHT, lines * _LINE_HEIGHT + 3)


def _set(cell: Any, value: Any) -> None:
    """Every value from a draft is written as it is: a string is always text, never a formula."""
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"  # text stays text, even when it starts with '='


def _csv_text(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return "" if value is None else value


def render_csv(draft: MonthlyDraft) -> bytes:
    """The form as CSV in UTF-8 with a byte-order mark (so that Excel reads the Chinese correctly)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([_csv_text(_title(draft))])
    unit, when = header_line(draft)
    writer.writerow([_csv_text(unit), *[""] * max(0, len(draft.columns) - 2), _csv_text(when)])
    writer.writerow([_csv_text(c) for c in draft.columns])
    for row in draft.rows:
        writer.writerow([_csv_text(row.cells.get(c)) for c in draft.columns])
    writer.writerow([])
    filler, phone = footer_line(draft)
    writer.writerow([_csv_text(filler), _csv_text(phone)])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


RENDERERS = {"xlsx": (render_xlsx, XLSX_MEDIA_TYPE), "csv": (render_csv, CSV_MEDIA_TYPE)}
