"""Reports as PDF (fpdf2, pure Python): a :class:`~riskmine.reports.document.ReportDocument` (the thematic and
immediate reports, a monthly form as a document) with its tables, figures (PNG), notes and the appendix of signal ids.

Chinese on any machine: the text is set in Noto Sans CJK SC, the face of the ``noto-cjk-sans-otc`` collection the
charts use (no system font, no LibreOffice), embedded as a subset. Every page carries its number.
"""

from __future__ import annotations

import io
from collections.abc import Mapping

from fpdf import FPDF
from fpdf.fonts import FontFace

from riskmine.reports.charts import font_file
from riskmine.reports.document import Figure, ReportDocument, Table, xml_safe

PDF_MEDIA_TYPE = "application/pdf"
FONT = "cjk"
_SC_FACE = 2  # the collection's faces: JP, KR, SC, TC, HK, then the monospaced ones
_HEADING_SIZES = {0: 16.0, 1: 13.0, 2: 11.5}
_BODY_SIZE = 10.0
_TABLE_SIZE = 8.5
# A table row must fit on one page: a cell longer than the cap is cut (with a note saying so), and a row still too
# high is tried again under the next, smaller cap. The XLSX and CSV files keep every character.
_CELL_CAPS = (2_000, 800, 300, 120)
CUT_NOTE = "PDF 中过长的表格单元格已截断（以“…”结尾），完整内容请下载 XLSX 或 CSV 文件。"
_HEADER_FILL = (217, 225, 242)


class _Pdf(FPDF):
    cap = _CELL_CAPS[0]
    cut = False

    def cell_text(self, value: object) -> str:
        text = _text(value)
        if len(text) <= self.cap:
            return text
        self.cut = True
        return text[: self.cap] + "…"

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FONT, size=8)
        self.cell(0, 6, f"第 {self.page_no()} 页，共 {{nb}} 页", align="C")


def _text(value: object) -> str:
    return xml_safe("" if value is None else str(value))


def render_pdf(
    report: ReportDocument, *, landscape: bool = False, column_widths: Mapping[str, float] | None = None
) -> bytes:
    """The report as an A4 PDF; ``column_widths`` (relative, by column name) shapes the tables."""
    report.number()
    for cap in _CELL_CAPS[:-1]:
        try:
            return _render(report, landscape, column_widths or {}, cap)
        except ValueError:  # fpdf2: a table row too high for one page
            continue
    return _render(report, landscape, column_widths or {}, _CELL_CAPS[-1])


def _render(report: ReportDocument, landscape: bool, column_widths: Mapping[str, float], cap: int) -> bytes:
    pdf = _Pdf(orientation="L" if landscape else "P", format="A4")
    pdf.cap = cap
    pdf.add_font(FONT, fname=font_file(), collection_font_number=_SC_FACE)
    pdf.set_margins(12, 12, 12)
    pdf.set_auto_page_break(auto=True, margin=16)
    pdf.add_page()
    _heading(pdf, report.title, 0, center=True)
    if report.subtitle:
        _paragraph(pdf, report.subtitle, center=True)
    for key, value in report.meta:
        _paragraph(pdf, f"{key}：{value}")
    for section in report.sections:
        _heading(pdf, section.heading, section.level)
        for block in section.blocks:
            if isinstance(block, Table):
                _table(pdf, block, column_widths)
            elif isinstance(block, Figure):
                _figure(pdf, block)
            else:
                _paragraph(pdf, block)
    for note in [*report.notes, *([CUT_NOTE] if pdf.cut else [])]:
        _paragraph(pdf, f"注：{note}")
    appendix = report.appendix()
    if appendix:
        _heading(pdf, "附录：各部分所计信号编号", 1)
        for what, ids in appendix:
            _paragraph(pdf, f"{what}（{len(ids)}条）：{', '.join(ids)}", size=7.0)
    return bytes(pdf.output())


def _heading(pdf: FPDF, text: str, level: int, *, center: bool = False) -> None:
    pdf.set_font(FONT, size=_HEADING_SIZES.get(level, _BODY_SIZE + 1))
    pdf.ln(2)
    pdf.multi_cell(0, 8, _text(text), align="C" if center else "L", new_x="LMARGIN", new_y="NEXT")


def _paragraph(pdf: FPDF, text: str, *, center: bool = False, size: float = _BODY_SIZE) -> None:
    pdf.set_font(FONT, size=size)
    pdf.multi_cell(0, size * 0.55, _text(text), align="C" if center else "L", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1)


def _table(pdf: _Pdf, table: Table, widths: Mapping[str, float]) -> None:
    if table.caption or table.ref:
        _paragraph(pdf, f"{table.ref} {table.caption}".strip())
    pdf.set_font(FONT, size=_TABLE_SIZE)
    with pdf.table(
        col_widths=tuple(widths.get(name, 16.0) for name in table.columns),
        headings_style=FontFace(emphasis=None, fill_color=_HEADER_FILL),
        line_height=_TABLE_SIZE * 0.5,
        text_align="LEFT",
        first_row_as_headings=True,
        repeat_headings=1,
    ) as grid:
        for values in [table.columns, *table.rows]:
            row = grid.row()
            for i in range(len(table.columns)):
                row.cell(pdf.cell_text(values[i] if i < len(values) else ""))
    pdf.ln(2)


def _figure(pdf: FPDF, figure: Figure) -> None:
    width = min(160.0, pdf.epw)
    pdf.image(io.BytesIO(figure.png), w=width, x=pdf.l_margin + (pdf.epw - width) / 2)
    _paragraph(pdf, f"{figure.ref} {figure.caption}", center=True)
    if figure.legend:
        _paragraph(pdf, "图例：" + "；".join(f"{code} = {meaning}" for code, meaning in figure.legend))
