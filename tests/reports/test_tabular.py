"""Lists as spreadsheets: CSV streamed in chunks with a BOM, XLSX with text cells; formula injection guarded."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from riskmine.reports.tabular import CSV_CHUNK_ROWS, Cell, csv_chunks, guard, xlsx_bytes


@pytest.mark.parametrize("text", ["=1+1", "+86 138", "-2", "@SUM(A1)", "\tx", "\rx"])
def test_a_cell_that_starts_like_a_formula_gets_an_apostrophe(text: str) -> None:
    assert guard(text) == "'" + text


@pytest.mark.parametrize("value", ["充电宝起火", "a=b", 3, -2, 1.5])
def test_other_cells_and_numbers_stay_as_they_are(value: object) -> None:
    assert guard(value) == value  # type: ignore[arg-type]


def test_the_csv_comes_in_chunks_and_reads_back_whole() -> None:
    rows: list[list[Cell]] = [[f"第{i}行", i, "=危险"] for i in range(CSV_CHUNK_ROWS * 2 + 3)]
    chunks = list(csv_chunks(["名称", "序号", "备注"], iter(rows)))
    assert len(chunks) == 1 + 3 and chunks[0].startswith(b"\xef\xbb\xbf")  # the header, then every 500 rows
    read = list(csv.reader(io.StringIO(b"".join(chunks).decode("utf-8-sig"))))
    assert read[0] == ["名称", "序号", "备注"] and len(read) == 1 + len(rows)
    assert read[-1] == [f"第{len(rows) - 1}行", str(len(rows) - 1), "'=危险"]


def test_the_workbook_keeps_formulas_as_text_and_numbers_as_numbers() -> None:
    sheet = load_workbook(io.BytesIO(xlsx_bytes(["名称", "数"], [['=HYPERLINK("x")', 3], [None, 1.5]]))).active
    assert sheet["A1"].value == "名称" and sheet["A1"].font.b
    assert sheet["A2"].value == '=HYPERLINK("x")' and sheet["A2"].data_type == "s"
    assert sheet["B2"].value == 3 and sheet["B3"].value == 1.5 and sheet["A3"].value is None
    assert sheet.freeze_panes == "A2"
