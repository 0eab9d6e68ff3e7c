"""A report as a small tree of sections, paragraphs, tables and figures, rendered to DOCX and HTML.

The immediate report and the thematic report build a :class:`ReportDocument`; this module writes it
with python-docx (figures as PNG) and with a Jinja2 template (autoescaped; figures as inline SVG).
Every table and figure carries the ids of the signals it counts; the appendix lists them.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Cm, Pt
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

TEMPLATES = Path(__file__).parent / "templates"
DOCX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
HTML_MEDIA_TYPE = "text/html; charset=utf-8"
# XML 1.0 forbids most control characters; python-docx raises on them.
_XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")
_SVG_UNSAFE = re.compile(r"<\s*/?\s*(script|foreignObject|iframe|object|embed)\b|\son\w+\s*=|javascript:", re.I)


def xml_safe(text: str) -> str:
    return _XML_ILLEGAL.sub("", text)


@dataclass
class Table:
    caption: str
    columns: list[str]
    rows: list[list[str]]
    signal_ids: list[str] = field(default_factory=list)
    ref: str = ""  # e.g. "表1", set when the document is numbered


@dataclass
class Figure:
    caption: str
    png: bytes
    svg: str
    signal_ids: list[str] = field(default_factory=list)
    legend: list[tuple[str, str]] = field(default_factory=list)  # label on the chart → its meaning
    ref: str = ""


Block = str | Table | Figure


@dataclass
class Section:
    heading: str
    level: int = 1
    blocks: list[Block] = field(default_factory=list)
    signal_ids: list[str] = field(default_factory=list)  # signals counted in the section's text


@dataclass
class ReportDocument:
    title: str
    subtitle: str = ""
    meta: list[tuple[str, str]] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def number(self) -> None:
        """Give tables and figures their numbers (表1, 图1, …) in document order."""
        tables = figures = 0
        for section in self.sections:
            for block in section.blocks:
                if isinstance(block, Table):
                    tables += 1
                    block.ref = f"表{tables}"
                elif isinstance(block, Figure):
                    figures += 1
                    block.ref = f"图{figures}"

    def appendix(self) -> list[tuple[str, list[str]]]:
        """(what, signal ids) for every section, table and figure that counts signals."""
        out: list[tuple[str, list[str]]] = []
        for section in self.sections:
            if section.signal_ids:
                out.append((section.heading, section.signal_ids))
            for block in section.blocks:
                if isinstance(block, Table | Figure) and block.signal_ids:
                    out.append((f"{block.ref} {block.caption}".strip(), block.signal_ids))
        return out


# ----------------------------------------------------------------------------- DOCX


def _set_east_asian_font(document: object, name: str = "SimSun") -> None:
    style = document.styles["Normal"]  # type: ignore[attr-defined]
    style.font.name = name
    style.font.size = Pt(11)
    style.element.rPr.rFonts.set(qn("w:eastAsia"), name)


def render_docx(report: ReportDocument) -> bytes:
    report.number()
    document = Document()
    _set_east_asian_font(document)
    heading = document.add_heading(xml_safe(report.title), level=0)
    heading.alignment = WD_ALIGN_PARAGRAPH.CENTER
    if report.subtitle:
        sub = document.add_paragraph(xml_safe(report.subtitle))
        sub.alignment = WD_ALIGN_PARAGRAPH.CENTER
    for key, value in report.meta:
        p = document.add_paragraph()
        p.add_run(xml_safe(f"{key}：")).bold = True
        p.add_run(xml_safe(value))
    for section in report.sections:
        document.add_heading(xml_safe(section.heading), level=min(max(section.level, 1), 4))
        for block in section.blocks:
            if isinstance(block, Table):
                _docx_table(document, block)
            elif isinstance(block, Figure):
                _docx_figure(document, block)
            else:
                document.add_paragraph(xml_safe(block))
    for note in report.notes:
        document.add_paragraph().add_run(xml_safe(f"注：{note}")).italic = True
    appendix = report.appendix()
    if appendix:
        document.add_heading("附录：各部分所计信号编号", level=1)
        for what, ids in appendix:
            p = document.add_paragraph()
            p.add_run(xml_safe(f"{what}（{len(ids)}条）：")).bold = True
            p.add_run(", ".join(ids)).font.size = Pt(8)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _docx_table(document: object, table: Table) -> None:
    caption = document.add_paragraph()  # type: ignore[attr-defined]
    caption.add_run(xml_safe(f"{table.ref} {table.caption}")).bold = True
    grid = document.add_table(rows=1, cols=len(table.columns))  # type: ignore[attr-defined]
    grid.style = "Table Grid"
    for cell, name in zip(grid.rows[0].cells, table.columns, strict=True):
        cell.text = xml_safe(name)
        for run in cell.paragraphs[0].runs:
            run.bold = True
    for row in table.rows:
        cells = grid.add_row().cells
        for cell, value in zip(cells, row, strict=False):
            cell.text = xml_safe(value)


def _docx_figure(document: object, figure: Figure) -> None:
    document.add_picture(io.BytesIO(figure.png), width=Cm(15))  # type: ignore[attr-defined]
    caption = document.add_paragraph(xml_safe(f"{figure.ref} {figure.caption}"))  # type: ignore[attr-defined]
    caption.alignment = WD_ALIGN_PARAGRAPH.CENTER
    if figure.legend:
        text = "；".join(f"{code} = {meaning}" for code, meaning in figure.legend)
        document.add_paragraph(xml_safe(f"图例：{text}"))  # type: ignore[attr-defined]


# ----------------------------------------------------------------------------- HTML


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.tests["table"] = lambda b: isinstance(b, Table)
    env.tests["figure"] = lambda b: isinstance(b, Figure)
    env.filters["svg"] = _safe_svg
    return env


def _safe_svg(svg: str) -> Markup:
    """Our own matplotlib SVG, checked to hold no script before it is inlined."""
    body = svg[svg.find("<svg") :] if "<svg" in svg else ""
    if not body or _SVG_UNSAFE.search(body):
        return Markup("<p>（图表无法内嵌显示）</p>")
    return Markup(body)  # generated by matplotlib (text drawn as paths), checked above


_ENV = _environment()


def render_html(report: ReportDocument) -> str:
    report.number()
    return _ENV.get_template("report.html").render(report=report, appendix=report.appendix())
