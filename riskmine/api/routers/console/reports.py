"""The report pages: draft the monthly report form of a month (and an organisation in one's tree), see its rows as a
table, correct cells, drop or add rows and annotate before downloading it as XLSX, CSV, DOCX or PDF; and download the
thematic report of a product category and year.

Drafts are kept per user in the workspace (riskmine.review.workspace) until deleted. Who may: analysts, admins and
stations, on the scope the reports API allows them (riskmine.api.routers.reports.authorised_scope). The forms and
files come from the reports package (riskmine.reports.monthly, .thematic, .downloads): nothing is rendered here."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from riskmine.api.deps import OptionalUserDep, ReviewDBDep, StoreDep
from riskmine.api.errors import ApiError
from riskmine.api.render import SECURITY_HEADERS
from riskmine.api.routers.console import pagekit
from riskmine.api.routers.console.saved_filters import WorkspaceDep, reader_or_redirect, render_page
from riskmine.api.routers.reports import MAX_NAME_CHARS, REPORT_ROLES, _download, authorised_scope
from riskmine.reports.document import render_html
from riskmine.reports.downloads import (
    DOCUMENT_FORMATS,
    MONTHLY_FORMATS,
    monthly_filename,
    render_document,
    render_monthly,
    thematic_filename,
)
from riskmine.reports.monthly import MAX_ROWS, MonthlyDraft, build_monthly_draft, parse_draft
from riskmine.reports.names import resolve_category
from riskmine.reports.periods import CST, parse_period
from riskmine.reports.thematic import build_thematic_report
from riskmine.review import workspace
from riskmine.review.repository import ReviewRepository
from riskmine.review.users import User
from riskmine.review.workspace import ReportDraft, WorkspaceRepository
from riskmine.schema.errors import RiskmineError
from riskmine.schema.labels import REPORT_FORM_LABELS, REPORT_FORMAT_LABELS
from riskmine.store.base import Store

router = APIRouter()

NOTICES = {"saved": "修改已保存。", "deleted": "草稿已删除。"}
# the thematic report's page styles itself (one inline <style>, no script); nothing else is allowed to load
REPORT_PAGE_HEADERS = {
    **SECURITY_HEADERS,
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'",
}
MONTHLY = "monthly"
# the edit form: a text field per cell, a few per row and the header's
_MAX_FORM_FIELDS = MAX_ROWS * 12 + 100


def _reporter(request: Request, user: User | None) -> User:
    who = pagekit.signed_in(request, user)
    if who.role not in REPORT_ROLES or who.via == "api_key":  # as the reports API: logged-in people only
        raise ApiError(403, "forbidden", "报表由登录的分析员、管理员和监测站编制；您的角色或接口密钥不能编制报表")
    return who


def _gate(request: Request, user: User | None) -> User | Response:
    """The reporter, or where to send a visitor who is none: the login page, or the advisories for an api_consumer."""
    who = reader_or_redirect(request, user)
    return who if isinstance(who, Response) else _reporter(request, who)


def _index(
    request: Request, repo: WorkspaceRepository, user: User, *, status_code: int = 200, **extra: Any
) -> Response:
    today = datetime.now(CST).date()
    context = {
        "user": user,
        "drafts": [d for d in repo.drafts(user.id) if d.kind == MONTHLY],
        "forms": REPORT_FORM_LABELS,
        "formats": {k: REPORT_FORMAT_LABELS[k] for k in DOCUMENT_FORMATS},
        "this_month": f"{today:%Y-%m}",
        "this_year": today.year,
        "station": user.role.value == "station",
        **extra,
    }
    return render_page(request, "reports.html", NOTICES, context, status_code)


@router.get("/reports")
async def reports_page(request: Request, repo: WorkspaceDep, user: OptionalUserDep) -> Response:
    """Draft a monthly form, your drafts, and the thematic report."""
    who = _gate(request, user)
    if isinstance(who, Response):
        return who
    return await run_in_threadpool(_index, request, repo, who)


def _draft_monthly(
    store: Store, db: ReviewRepository, repo: WorkspaceRepository, user: User, fields: dict[str, str]
) -> ReportDraft:
    scope = authorised_scope(user, fields["org"] or None, db, store)
    draft = build_monthly_draft(
        store,
        parse_period(fields["period"]),
        fields["form"],
        scope.organisation or "",
        scope,
        filled_by=fields["filled_by"] or user.username,
        phone=fields["phone"],
    )
    title = f"{draft.period} {REPORT_FORM_LABELS.get(draft.form, draft.form)}报送表（{draft.organisation or '全部'}）"
    return workspace.new_draft(repo, user, MONTHLY, title, draft.model_dump(mode="json"))


@router.post("/reports/drafts")
async def new_draft(
    request: Request,
    store: StoreDep,
    db: ReviewDBDep,
    repo: WorkspaceDep,
    user: OptionalUserDep,
    period: Annotated[str, Form(max_length=20)],
    form: Annotated[str, Form(max_length=20)] = "general",
    org: Annotated[str, Form(max_length=MAX_NAME_CHARS)] = "",
    filled_by: Annotated[str, Form(max_length=MAX_NAME_CHARS)] = "",
    phone: Annotated[str, Form(max_length=50)] = "",
) -> Response:
    """Draft the monthly form of a month and keep it for editing."""
    pagekit.refuse_cross_site(request, "monthly report")
    who = _reporter(request, user)
    fields = {"period": period, "form": form, "org": org.strip(), "filled_by": filled_by.strip(), "phone": phone}
    try:
        draft = await run_in_threadpool(_draft_monthly, store, db, repo, who, fields)
    except RiskmineError as exc:
        error = f"未能生成草稿：{exc}"
        return await run_in_threadpool(_index, request, repo, who, status_code=exc.status, form_error=error)
    return RedirectResponse(f"/reports/drafts/{draft.id}", status_code=303)


def _editor(request: Request, draft: ReportDraft, user: User, *, status_code: int = 200, **extra: Any) -> Response:
    formats = {k: REPORT_FORMAT_LABELS[k] for k in MONTHLY_FORMATS}
    context = {"user": user, "draft": draft, "form": draft.body, "formats": formats, **extra}
    return render_page(request, "report_draft.html", NOTICES, context, status_code)


@router.get("/reports/drafts/{draft_id}")
async def draft_page(request: Request, draft_id: str, repo: WorkspaceDep, user: OptionalUserDep) -> Response:
    """A draft's header, rows and notes as an editable table, and its downloads."""
    who = _gate(request, user)
    if isinstance(who, Response):
        return who
    draft = await run_in_threadpool(workspace.get_draft, repo, who, draft_id)
    return _editor(request, draft, who)


def edited_body(body: dict[str, Any], form: Any) -> dict[str, Any]:
    """The draft with the edit form's values: header and footer, every cell (``c<row>_<column>``), rows dropped
    (``drop``), an empty row added (``add_row``), the notes (one a line). Checked by parse_draft afterwards."""
    columns: list[str] = list(body.get("columns", []))
    dropped = {str(v) for v in form.getlist("drop")}
    rows = []
    for i, row in enumerate(body.get("rows", [])):
        if str(i) in dropped:
            continue
        cells = {c: _cell(form.get(f"c{i}_{j}", row["cells"].get(c))) for j, c in enumerate(columns)}
        rows.append({**row, "cells": cells})
    if form.get("add_row"):
        rows.append({"cells": dict.fromkeys(columns), "candidate_ids": [], "signal_ids": []})
    changed = {**body, "rows": rows}
    for name in ("filled_by", "phone", "filled_at"):
        if name in form:
            changed[name] = str(form.get(name)).strip()
    if "notes" in form:
        changed["notes"] = [line.strip() for line in str(form.get("notes")).splitlines() if line.strip()]
    return changed


def _cell(value: Any) -> Any:
    if isinstance(value, str):
        value = value.replace("\r\n", "\n").strip()
        return value or None
    return value


def _save(repo: WorkspaceRepository, user: User, draft_id: str, form: Any) -> tuple[ReportDraft, str | None]:
    draft = workspace.get_draft(repo, user, draft_id)
    try:
        checked = parse_draft(edited_body(draft.body, form))
    except RiskmineError as exc:
        return draft, f"未能保存：{exc}"
    workspace.update_draft(repo, draft, checked.model_dump(mode="json"))
    return draft, None


@router.post("/reports/drafts/{draft_id}")
async def save_draft(request: Request, draft_id: str, repo: WorkspaceDep, user: OptionalUserDep) -> Response:
    """Keep the edits of a draft (every cell, the header and footer, rows dropped or added, the notes)."""
    pagekit.refuse_cross_site(request, "monthly report")
    who = _reporter(request, user)
    form = await request.form(max_files=0, max_fields=_MAX_FORM_FIELDS)
    draft, error = await run_in_threadpool(_save, repo, who, draft_id, form)
    if error:
        return _editor(request, draft, who, status_code=422, form_error=error)
    return RedirectResponse(f"/reports/drafts/{draft_id}?done=saved", status_code=303)


def _file(
    store: Store, db: ReviewRepository, repo: WorkspaceRepository, user: User, draft_id: str, fmt: str
) -> Response:
    checked: MonthlyDraft = parse_draft(workspace.get_draft(repo, user, draft_id).body)
    authorised_scope(user, checked.organisation or None, db, store)  # still the user's to report on
    content, media_type = render_monthly(checked, fmt)
    return _download(content, media_type, monthly_filename(checked, fmt))


@router.get("/reports/drafts/{draft_id}/download")
async def download_draft(
    request: Request,
    draft_id: str,
    store: StoreDep,
    db: ReviewDBDep,
    repo: WorkspaceDep,
    user: OptionalUserDep,
    format: str = "xlsx",
) -> Response:
    """The (edited) draft as XLSX, CSV, DOCX or PDF."""
    who = _gate(request, user)
    if isinstance(who, Response):
        return who
    fmt = format if format in MONTHLY_FORMATS else "xlsx"
    return await run_in_threadpool(_file, store, db, repo, who, draft_id, fmt)


@router.post("/reports/drafts/{draft_id}/delete")
async def delete_draft(request: Request, draft_id: str, repo: WorkspaceDep, user: OptionalUserDep) -> Response:
    pagekit.refuse_cross_site(request, "monthly report")
    who = _reporter(request, user)
    await run_in_threadpool(workspace.delete_draft, repo, who, draft_id)
    return RedirectResponse("/reports?done=deleted", status_code=303)


def _thematic(store: Store, db: ReviewRepository, user: User, category: str, year: int, org: str, fmt: str) -> Response:
    scope = authorised_scope(user, org or None, db, store)
    name = resolve_category(store, category)
    report = build_thematic_report(store, name, year, scope, organisation=scope.organisation)
    if fmt == "html":
        return HTMLResponse(render_html(report), headers=REPORT_PAGE_HEADERS)
    content, media_type = render_document(report, fmt)
    return _download(content, media_type, thematic_filename(year, name, fmt))


@router.get("/reports/thematic")
async def thematic_report(
    request: Request,
    store: StoreDep,
    db: ReviewDBDep,
    repo: WorkspaceDep,
    user: OptionalUserDep,
    category: str = "",
    year: str = "",
    org: str = "",
    format: str = "pdf",
) -> Response:
    """The thematic report of a category and year: PDF, DOCX, or the page to read in the browser (html)."""
    who = _gate(request, user)
    if isinstance(who, Response):
        return who
    fmt = format if format in (*DOCUMENT_FORMATS, "html") else "pdf"
    chosen_year = int(year) if year.strip().isdigit() and 1901 <= int(year) <= 2199 else date.today().year
    name, org_name = category.strip()[:MAX_NAME_CHARS], org.strip()[:MAX_NAME_CHARS]
    try:
        if not name:
            raise ApiError(422, "missing_category", "请填写产品类别，如：充电宝")
        return await run_in_threadpool(_thematic, store, db, who, name, chosen_year, org_name, fmt)
    except RiskmineError as exc:
        error = f"未能生成专题报告：{exc}"
        return await run_in_threadpool(_index, request, repo, who, status_code=exc.status, form_error=error)
