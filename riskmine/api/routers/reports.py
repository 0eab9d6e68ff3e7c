"""Reports: the monthly report form (draft, edit, render), immediate reports and thematic reports.

Who may ask: analysts and admins for any organisation in their subtree (all organisations when they
belong to none), stations for their own organisation only; viewers, publishers and API keys may not.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Body, Depends, Query
from fastapi.responses import HTMLResponse, Response

from riskmine.api.deps import CurrentUserDep, ReviewDBDep, StoreDep
from riskmine.api.errors import ApiError
from riskmine.reports.document import render_html
from riskmine.reports.downloads import monthly_filename, render_document, render_monthly, thematic_filename
from riskmine.reports.gather import candidate_slice
from riskmine.reports.immediate import build_immediate_report
from riskmine.reports.monthly import MonthlyDraft, build_monthly_draft, parse_draft
from riskmine.reports.names import check_organisation, resolve_category
from riskmine.reports.periods import parse_period
from riskmine.reports.scope import ReportScope, organisation_subtree, report_scope
from riskmine.reports.thematic import build_thematic_report
from riskmine.review.orgs import known_organisations, subtree
from riskmine.review.repository import ReviewRepository
from riskmine.review.roles import Role
from riskmine.review.users import User
from riskmine.schema import CandidateRisk
from riskmine.store.base import Collection, Store

router = APIRouter(prefix="/api/v1/reports", tags=["reports"])

REPORT_ROLES = frozenset({Role.analyst, Role.admin, Role.station})
MAX_NAME_CHARS = 200


def require_reporter(user: CurrentUserDep) -> User:
    """A logged-in analyst, admin or station (not an API key)."""
    if user.via == "api_key":
        raise ApiError(403, "forbidden", "reports are for logged-in analysts, admins and stations, not API keys")
    if user.role not in REPORT_ROLES:
        raise ApiError(
            403, "forbidden", f"role {user.role.value!r} cannot make reports; it needs analyst, admin or station"
        )
    return user


ReporterDep = Annotated[User, Depends(require_reporter)]


def authorised_scope(user: User, organisation: str | None, db: ReviewRepository, store: Store) -> ReportScope:
    """The scope a user may report on for `organisation` (None: the user's own): its subtree in the organisation
    tree; 403 outside the user's own subtree; for the centre, an organisation nobody knows is refused."""
    org = organisation.strip() if organisation and organisation.strip() else None

    def resolver(name: str) -> frozenset[str]:
        return subtree(db, name)

    if user.role is Role.station:
        own = user.organisation
        if not own:
            raise ApiError(403, "forbidden", "this station account has no organisation; ask an admin to set one")
        if org is not None and org != own:
            raise ApiError(403, "forbidden", f"a station reports for its own organisation ({own!r}) only")
        return report_scope(own, include_unassigned=False, resolver=resolver)
    if user.organisation is None:  # the assessment centre, above the tree: any organisation the system knows
        check_organisation(org, known_organisations(db, store))
        return report_scope(org, resolver=resolver)
    if org is None:
        return report_scope(user.organisation, resolver=resolver)
    if org not in organisation_subtree(user.organisation, resolver):
        raise ApiError(403, "forbidden", f"{org!r} is not in the organisation tree of {user.organisation!r}")
    return report_scope(org, resolver=resolver)


def _download(content: bytes, media_type: str, filename: str) -> Response:
    ascii_name = filename.encode("ascii", "replace").decode("ascii").replace("?", "_")
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
    return Response(content, media_type=media_type, headers={"Content-Disposition": disposition})


OrgQuery = Annotated[str | None, Query(max_length=MAX_NAME_CHARS, description="填报单位; default your own")]
FormQuery = Annotated[Literal["general", "ecommerce"], Query(description="general | ecommerce")]
PeriodQuery = Annotated[str, Query(max_length=20, description="month the period ends in, e.g. 2025-03")]


@router.get("/monthly", response_model=MonthlyDraft)
def monthly_draft(
    store: StoreDep,
    db: ReviewDBDep,
    user: ReporterDep,
    period: PeriodQuery,
    form: FormQuery = "general",
    org: OrgQuery = None,
    filled_by: Annotated[str, Query(max_length=MAX_NAME_CHARS)] = "",
    phone: Annotated[str, Query(max_length=50)] = "",
) -> MonthlyDraft:
    """The editable draft of the monthly form; edit it and POST it to /monthly/render."""
    scope = authorised_scope(user, org, db, store)
    return build_monthly_draft(
        store,
        parse_period(period),
        form,
        scope.organisation or "",
        scope,
        filled_by=filled_by or user.username,
        phone=phone,
    )


@router.post("/monthly/render")
def monthly_render(
    store: StoreDep,
    db: ReviewDBDep,
    user: ReporterDep,
    draft: Annotated[dict[str, Any], Body(description="a draft as returned by GET /monthly, edited")],
    fmt: Annotated[Literal["xlsx", "csv", "docx", "pdf"], Query(alias="format")] = "xlsx",
) -> Response:
    """The form file of an (edited) draft: XLSX or CSV to send on, DOCX or PDF to print."""
    checked = parse_draft(draft)
    authorised_scope(user, checked.organisation or None, db, store)
    content, media_type = render_monthly(checked, fmt)
    return _download(content, media_type, monthly_filename(checked, fmt))


@router.get("/immediate/{candidate_id}")
def immediate_report(
    store: StoreDep,
    db: ReviewDBDep,
    user: ReporterDep,
    candidate_id: str,
    fmt: Annotated[Literal["html", "docx", "pdf"], Query(alias="format")] = "html",
) -> Response:
    """The immediate report (重要风险信息及时报) of a candidate in your scope."""
    scope = authorised_scope(user, None, db, store)
    candidate = store.get(Collection.candidates, candidate_id)
    if not isinstance(candidate, CandidateRisk) or not scope.covers_candidate(
        candidate, candidate_slice(store, candidate).signals
    ):
        raise ApiError(404, "not_found", f"您所在单位的范围内没有编号为 {candidate_id} 的候选风险")
    report = build_immediate_report(store, candidate_id, organisation=scope.organisation)
    if fmt == "html":
        return HTMLResponse(render_html(report))
    content, media_type = render_document(report, fmt)
    return _download(content, media_type, f"immediate-{candidate_id}.{fmt}")


@router.get("/thematic")
def thematic_report(
    store: StoreDep,
    db: ReviewDBDep,
    user: ReporterDep,
    category: Annotated[str, Query(min_length=1, max_length=MAX_NAME_CHARS, description="product category")],
    year: Annotated[int, Query(ge=1901, le=2199)] = date.today().year,
    fmt: Annotated[Literal["html", "docx", "pdf"], Query(alias="format")] = "html",
    org: OrgQuery = None,
) -> Response:
    """The thematic analysis report (专题分析报告) of a product category and year."""
    scope = authorised_scope(user, org, db, store)
    category = resolve_category(store, category)
    report = build_thematic_report(store, category, year, scope, organisation=scope.organisation)
    if fmt == "html":
        return HTMLResponse(render_html(report))
    content, media_type = render_document(report, fmt)
    return _download(content, media_type, thematic_filename(year, category, fmt))
