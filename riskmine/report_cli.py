"""`riskmine report monthly|immediate|thematic`: the report forms and reports from the store.

It sits above the review layer: an organisation's report covers its subtree in the organisation tree
(riskmine.review.orgs), and an organisation or category nobody knows is refused with the names that are known.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from riskmine.reports.errors import ReportError
from riskmine.reports.names import check_organisation, resolve_category
from riskmine.reports.scope import ReportScope, report_scope
from riskmine.store.base import Store

if TYPE_CHECKING:
    from riskmine.reports.monthly import MonthlyDraft

app = typer.Typer(help="Monthly report forms, immediate reports and thematic analysis reports.", no_args_is_help=True)


@contextmanager
def _store() -> Iterator[Store]:
    from riskmine.settings import get_settings
    from riskmine.store.factory import open_store

    settings = get_settings()
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    store = open_store(settings)
    try:
        yield store
    finally:
        store.close()


def _working(what: str) -> AbstractContextManager[Any]:
    """A spinner on stderr while a report is drafted and rendered (none when stderr is not a terminal)."""
    err = Console(stderr=True)
    return err.status(what) if err.is_terminal else nullcontext()


def _fail(exc: Exception) -> typer.Exit:
    typer.echo(f"error: {exc}", err=True)
    return typer.Exit(code=2)


def _scope(store: Store, organisation: str | None, *, include_unassigned: bool = True) -> ReportScope:
    """The report's scope: the organisation's subtree in the organisation tree; an unknown name is refused."""
    from riskmine.review.orgs import known_organisations, subtree
    from riskmine.review.repository import open_review_repository
    from riskmine.settings import get_settings

    db = open_review_repository(get_settings())
    check_organisation(organisation, known_organisations(db, store))
    return report_scope(organisation, include_unassigned=include_unassigned, resolver=lambda name: subtree(db, name))


def _reports_dir() -> Path:
    from riskmine.settings import get_settings

    return get_settings().var_dir / "reports"


@app.command()
def monthly(
    org: Annotated[str, typer.Option(help="填报单位: the organisation or station reporting")],
    period: Annotated[str, typer.Option(help="the month the period ends in, e.g. 2025-03 (25 Feb - 24 Mar)")],
    form: Annotated[str, typer.Option(help="general | ecommerce")] = "general",
    fmt: Annotated[str, typer.Option("--format", help="xlsx | csv | docx | pdf | json (the editable draft)")] = "xlsx",
    out: Annotated[Path | None, typer.Option(help="output file; default <var_dir>/reports/monthly/…")] = None,
    draft: Annotated[Path | None, typer.Option(help="render this edited draft (JSON) instead of drafting anew")] = None,
    filled_by: Annotated[str, typer.Option(help="填报人")] = "",
    phone: Annotated[str, typer.Option(help="联系电话")] = "",
    unassigned: Annotated[
        bool, typer.Option("--unassigned/--own-only", help="include candidates no organisation has taken on yet")
    ] = True,
) -> None:
    """The monthly report form (报送表) of an organisation for a period."""
    from riskmine.reports.downloads import MONTHLY_RENDERERS, render_monthly

    if fmt not in (*MONTHLY_RENDERERS, "json"):
        raise _fail(ReportError(f"unknown format {fmt!r}; use xlsx, csv, docx, pdf or json"))
    with _working(f"monthly form {form} {period}"):
        result = _monthly_draft(org, period, form, draft, filled_by, phone, unassigned)
        target = out or _reports_dir() / "monthly" / f"{result.period}-{result.form}-{_safe(result.organisation)}.{fmt}"
        target.parent.mkdir(parents=True, exist_ok=True)
        if fmt == "json":
            target.write_text(result.model_dump_json(indent=2), encoding="utf-8")
        else:
            target.write_bytes(render_monthly(result, fmt)[0])
    typer.echo(
        f"{target}: {result.form} form, period {result.period_start}–{result.period_end}, "
        f"due {result.due}, {len(result.rows)} rows"
    )
    for note in result.notes:
        typer.echo(f"  note: {note}")


def _monthly_draft(
    org: str, period: str, form: str, draft: Path | None, filled_by: str, phone: str, unassigned: bool
) -> MonthlyDraft:
    from riskmine.reports.monthly import build_monthly_draft, parse_draft
    from riskmine.reports.periods import parse_period

    try:
        if draft is not None:
            try:
                data = json.loads(draft.read_text(encoding="utf-8-sig"))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise ReportError(f"{draft}: not a readable JSON draft ({exc})") from None
            result = parse_draft(data)
        else:
            with _store() as store:
                result = build_monthly_draft(
                    store,
                    parse_period(period),
                    form,
                    org,
                    _scope(store, org, include_unassigned=unassigned),
                    filled_by=filled_by,
                    phone=phone,
                )
    except ReportError as exc:
        raise _fail(exc) from None
    return result


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in name)[:60] or "org"


@app.command()
def immediate(
    candidate_id: Annotated[str, typer.Argument(help="id of the candidate risk")],
    fmt: Annotated[str, typer.Option("--format", help="docx | pdf | html | both (docx and html)")] = "both",
    out_dir: Annotated[Path | None, typer.Option(help="default <var_dir>/reports/immediate")] = None,
    org: Annotated[str | None, typer.Option(help="报告单位")] = None,
) -> None:
    """The immediate report (重要风险信息及时报) of a candidate risk."""
    from riskmine.reports.document import render_html
    from riskmine.reports.downloads import render_document
    from riskmine.reports.immediate import build_immediate_report

    if fmt not in ("docx", "pdf", "html", "both"):
        raise _fail(ReportError(f"unknown format {fmt!r}; use docx, pdf, html or both"))
    with _working(f"immediate report {candidate_id}"):
        try:
            with _store() as store:
                if org:
                    _scope(store, org)  # refuses an unknown 报告单位
                report = build_immediate_report(store, candidate_id, organisation=org)
        except ReportError as exc:
            raise _fail(exc) from None
        folder = out_dir or _reports_dir() / "immediate"
        folder.mkdir(parents=True, exist_ok=True)
        written = []
        for kind in ("docx", "pdf"):
            if fmt == kind or (fmt == "both" and kind == "docx"):
                written.append(folder / f"immediate-{_safe(candidate_id)}.{kind}")
                written[-1].write_bytes(render_document(report, kind)[0])
        if fmt in ("html", "both"):
            written.append(folder / f"immediate-{_safe(candidate_id)}.html")
            written[-1].write_text(render_html(report), encoding="utf-8")
    for path in written:
        typer.echo(str(path))


@app.command()
def thematic(
    category: Annotated[str, typer.Option(help="product category, e.g. 充电宝")],
    year: Annotated[int, typer.Option(help="report year")] = date.today().year,
    fmt: Annotated[str, typer.Option("--format", help="docx | pdf | html")] = "docx",
    out: Annotated[Path | None, typer.Option(help="output file; default <var_dir>/reports/thematic/…")] = None,
    org: Annotated[str | None, typer.Option(help="编制单位; limits the report to its organisations")] = None,
) -> None:
    """The thematic analysis report (专题分析报告) of a product category and year."""
    from riskmine.reports.document import render_html
    from riskmine.reports.downloads import render_document
    from riskmine.reports.thematic import build_thematic_report

    if fmt not in ("docx", "pdf", "html"):
        raise _fail(ReportError(f"unknown format {fmt!r}; use docx, pdf or html"))
    with _working(f"thematic report {category} {year}"):
        try:
            with _store() as store:
                name = resolve_category(store, category)
                report = build_thematic_report(store, name, year, _scope(store, org), organisation=org)
        except ReportError as exc:
            raise _fail(exc) from None
        target = out or _reports_dir() / "thematic" / f"{year}-{_safe(name)}.{fmt}"
        target.parent.mkdir(parents=True, exist_ok=True)
        if fmt != "html":
            target.write_bytes(render_document(report, fmt)[0])
        else:
            target.write_text(render_html(report), encoding="utf-8")
    typer.echo(str(target))
