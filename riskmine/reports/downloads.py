"""The files a report can be downloaded as, in one place for the console and the API: a monthly form (an edited
:class:`~riskmine.reports.monthly.MonthlyDraft`) as XLSX, CSV, DOCX or PDF, and a report document (thematic,
immediate) as DOCX or PDF. Each format maps to its renderer and media type."""

from __future__ import annotations

from collections.abc import Callable

from riskmine.reports.document import DOCX_MEDIA_TYPE, ReportDocument, Section, Table, render_docx
from riskmine.reports.monthly import MonthlyDraft
from riskmine.reports.monthly_render import COLUMN_WIDTHS, RENDERERS, footer_line, header_line
from riskmine.reports.pdf import PDF_MEDIA_TYPE, render_pdf

MONTHLY_FORMATS = ("xlsx", "csv", "docx", "pdf")
DOCUMENT_FORMATS = ("docx", "pdf")


def monthly_document(draft: MonthlyDraft) -> ReportDocument:
    """The form as a document: its header and footer lines, the rows as one table, the notes."""
    unit, when = header_line(draft)
    filler, phone = footer_line(draft)
    meta = [tuple(line.split("：", 1)) for line in (unit, when, filler, phone)]
    rows = [["" if row.cells.get(c) is None else str(row.cells.get(c)) for c in draft.columns] for row in draft.rows]
    period = f"{draft.period_start:%Y年%m月%d日}至{draft.period_end:%Y年%m月%d日}"
    return ReportDocument(
        title=draft.title,
        subtitle=draft.subtitle,
        meta=[(k, v) for k, v in meta] + [("报送期", period)],
        sections=[Section(heading="报送内容", blocks=[Table(caption="", columns=list(draft.columns), rows=rows)])],
        notes=list(draft.notes),
    )


def _monthly_docx(draft: MonthlyDraft) -> bytes:
    return render_docx(monthly_document(draft))


def _monthly_pdf(draft: MonthlyDraft) -> bytes:
    return render_pdf(monthly_document(draft), landscape=True, column_widths=COLUMN_WIDTHS)


def _document_pdf(report: ReportDocument) -> bytes:
    return render_pdf(report)


MONTHLY_RENDERERS: dict[str, tuple[Callable[[MonthlyDraft], bytes], str]] = {
    **RENDERERS,
    "docx": (_monthly_docx, DOCX_MEDIA_TYPE),
    "pdf": (_monthly_pdf, PDF_MEDIA_TYPE),
}
DOCUMENT_RENDERERS: dict[str, tuple[Callable[[ReportDocument], bytes], str]] = {
    "docx": (render_docx, DOCX_MEDIA_TYPE),
    "pdf": (_document_pdf, PDF_MEDIA_TYPE),
}


def render_monthly(draft: MonthlyDraft, fmt: str) -> tuple[bytes, str]:
    """The form's file in a format of :data:`MONTHLY_FORMATS`, and its media type."""
    render, media_type = MONTHLY_RENDERERS[fmt]
    return render(draft), media_type


def render_document(report: ReportDocument, fmt: str) -> tuple[bytes, str]:
    """The report's file in a format of :data:`DOCUMENT_FORMATS`, and its media type."""
    render, media_type = DOCUMENT_RENDERERS[fmt]
    return render(report), media_type


def monthly_filename(draft: MonthlyDraft, fmt: str) -> str:
    """The download name of a monthly form's file (the API's and the console's)."""
    return f"{draft.period}-{draft.form}-报送表.{fmt}"


def thematic_filename(year: int, category: str, fmt: str) -> str:
    """The download name of a thematic report's file."""
    return f"{year}-{category}-专题分析报告.{fmt}"
