"""A monthly form (edited) and a thematic report as every downloadable file: XLSX, CSV, DOCX and PDF that open, in
Chinese, with what was edited; PDF text is set in the bundled CJK font on any machine."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime
from io import BytesIO

import pytest
from docx import Document
from openpyxl import load_workbook

from riskmine.reports.document import Figure
from riskmine.reports.downloads import MONTHLY_FORMATS, monthly_document, render_document, render_monthly
from riskmine.reports.monthly import MonthlyDraft, build_monthly_draft
from riskmine.reports.pdf import CUT_NOTE
from riskmine.reports.periods import parse_period
from riskmine.reports.scope import report_scope
from riskmine.reports.thematic import build_thematic_report
from riskmine.store.sqlite import SQLiteStore
from tests.reports.reportkit import CST, seed

pypdf = pytest.importorskip("pypdf", reason="the PDF reader of the tests is missing: pip install -e '.[dev]'")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SQLiteStore]:
    s = SQLiteStore(tmp_path_factory.mktemp("downloads") / "store.sqlite3")
    seed(s)
    yield s
    s.close()


def edited(store: SQLiteStore) -> MonthlyDraft:
    draft = build_monthly_draft(
        store, parse_period("2025-03"), "general", "示范中心", report_scope(None), filled_at=date(2025, 3, 25)
    )
    draft.rows[0].cells["初步建议"] = "建议开展专项抽查（分析员批注）"
    draft.filled_by = "张三"
    return draft


def pdf_text(data: bytes) -> str:
    reader = pypdf.PdfReader(BytesIO(data))
    return re.sub(r"[\s\x00]+", "", "".join(page.extract_text() for page in reader.pages))


def test_the_monthly_document_carries_header_footer_rows_and_notes(store: SQLiteStore) -> None:
    draft = edited(store)
    doc = monthly_document(draft)
    assert doc.meta[:3] == [("填报单位", "示范中心"), ("填报时间", "2025年03月25日"), ("填报人", "张三")]
    (table,) = doc.sections[0].blocks
    assert not isinstance(table, str) and table.columns == draft.columns  # type: ignore[union-attr]
    assert table.rows[0][5] == "建议开展专项抽查（分析员批注）"  # type: ignore[union-attr]


@pytest.mark.parametrize("fmt", MONTHLY_FORMATS)
def test_every_format_of_the_edited_form_opens_with_the_edit(store: SQLiteStore, fmt: str) -> None:
    data, media_type = render_monthly(edited(store), fmt)
    if fmt == "xlsx":
        sheet = load_workbook(BytesIO(data)).active
        assert "建议开展专项抽查（分析员批注）" in [c.value for row in sheet.iter_rows() for c in row]
    elif fmt == "csv":
        assert data.startswith(b"\xef\xbb\xbf") and "建议开展专项抽查（分析员批注）" in data.decode("utf-8-sig")
    elif fmt == "docx":
        texts = [c.text for t in Document(BytesIO(data)).tables for row in t.rows for c in row.cells]
        assert "建议开展专项抽查（分析员批注）" in texts
    else:
        assert media_type == "application/pdf" and data.startswith(b"%PDF")
        text = pdf_text(data)
        assert (
            "产品质量安全风险信息报送表" in text and "建议开展专项抽查（分析员批注）" in text and "填报人：张三" in text
        )


def test_a_cell_too_long_for_a_pdf_page_is_cut_and_said_so(store: SQLiteStore) -> None:
    draft = edited(store)
    draft.rows[0].cells["风险信息内容"] = "充电宝起火" * 1_000
    text = pdf_text(render_monthly(draft, "pdf")[0])
    assert "…" in text and re.sub(r"\s+", "", CUT_NOTE) in text
    assert "充电宝起火" * 1_000 in render_monthly(draft, "csv")[0].decode("utf-8-sig")  # the CSV keeps it whole


def test_the_thematic_report_as_pdf_and_docx(store: SQLiteStore) -> None:
    report = build_thematic_report(store, "充电宝", 2025, report_scope(None), now=datetime(2025, 3, 26, tzinfo=CST))
    pdf, media_type = render_document(report, "pdf")
    assert media_type == "application/pdf"
    text = pdf_text(pdf)
    assert "2025年充电宝产品质量安全形势专题分析报告" in text and "一、产品概况" in text
    assert sum(len(page.images) for page in pypdf.PdfReader(BytesIO(pdf)).pages) == sum(
        1 for section in report.sections for block in section.blocks if isinstance(block, Figure)
    )
    docx, _ = render_document(report, "docx")
    assert Document(BytesIO(docx)).paragraphs[0].text == report.title
