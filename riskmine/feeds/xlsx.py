"""XLSX reader (openpyxl, read-only, streamed): the first sheet with a header row, or a named sheet.

Rows are numbered as Excel numbers them. Date cells come as datetimes; formulas give their cached
values.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from riskmine.feeds import forms
from riskmine.feeds.headers import canonical_field, is_blank
from riskmine.feeds.rows import FeedFormatError, Row
from riskmine.feeds.table import HEADER_SCAN_ROWS, TableInfo, table_rows


def _open(path: Path) -> Any:
    try:
        return load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError, EOFError) as exc:
        raise FeedFormatError(
            f"{path.name}: not a readable .xlsx workbook ({type(exc).__name__}: {exc}); "
            "open it in Excel or LibreOffice and save it again as .xlsx"
        ) from None


def _has_header(ws: Any) -> bool:
    for i, row in enumerate(ws.iter_rows(min_row=1, values_only=True)):
        if i >= HEADER_SCAN_ROWS:
            break
        for cell in row:
            if not is_blank(cell) and (canonical_field(cell) is not None or forms.is_form_header(cell)):
                return True
    return False


def _cell(value: Any) -> Any:
    if isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def _records(wb: Any, ws: Any) -> Iterator[tuple[int, list[Any]]]:
    try:
        for number, row in enumerate(ws.iter_rows(min_row=1, values_only=True), start=1):
            yield number, [_cell(v) for v in row]
    finally:
        wb.close()


def sheet_names(path: Path) -> list[str]:
    wb = _open(Path(path))
    try:
        return list(wb.sheetnames)
    finally:
        wb.close()


def read_xlsx(path: Path, *, sheet: str | None = None, info: TableInfo | None = None) -> Iterator[Row]:
    """Numbered rows of a worksheet with a header row (title rows above it are skipped).

    Without `sheet`, the first sheet whose first rows hold a known header is read (else the first
    sheet). The workbook is opened now (FeedFormatError if it cannot be, or the sheet is missing).
    """
    path = Path(path)
    wb = _open(path)
    try:
        if sheet is not None:
            if sheet not in wb.sheetnames:
                raise FeedFormatError(
                    f"{path.name}: no sheet named {sheet!r}; sheets: {', '.join(repr(s) for s in wb.sheetnames)}"
                )
            ws = wb[sheet]
        else:
            worksheets = list(wb.worksheets)
            if not worksheets:
                raise FeedFormatError(f"{path.name}: the workbook has no worksheet")
            ws = next((w for w in worksheets if _has_header(w)), worksheets[0])
    except BaseException:
        wb.close()
        raise
    return table_rows(_records(wb, ws), name=f"{path.name} [{ws.title}]", sep="\t", info=info)
