"""A candidate's page: the analysis, the evidence, the review record, and the forms this user may use."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from riskmine.api.console_views import (
    MEASURE,
    SCOPE,
    Neighbourhood,
    deadline_view,
    decisions_of,
    factor_rows,
    neighbourhood,
    region_bars,
    statistic_rows,
)
from riskmine.api.deps import OptionalUserDep, ReviewDBDep, StoreDep
from riskmine.api.labels import RISK_LEVEL, STATUS, WARNING_COLOR, label
from riskmine.api.render import Excerpt, safe_url, signal_excerpt
from riskmine.api.routers.console import pagekit
from riskmine.api.svg import weekly_trend_chart
from riskmine.api.views import candidate_url, document_url, signal_url
from riskmine.review import visibility, workflow
from riskmine.review.repository import ReviewRepository
from riskmine.review.users import User
from riskmine.review.workflow import MAX_COMMENT_CHARS, MAX_RATIONALE_CHARS, MAX_REASON_CHARS
from riskmine.schema import CandidateRisk, CandidateStatus, Signal
from riskmine.store.base import Collection, Store

router = APIRouter()

OBJECTOR_KIND: dict[str, str] = {"producer": "生产者", "seller": "销售者"}
# Confirmations after a merge or split (the redirect names which).
REGROUP_NOTICES: dict[str, str] = {
    "merged": "合并完成：所选候选风险的信号已并入本候选风险。",
    "split": "拆分完成：所选信号已移入本候选风险（新建）。",
}


def _decide_context(user: User, cand: CandidateRisk) -> dict[str, Any]:
    """What the decision, status and advisory forms offer this user, or why they are not shown."""
    can = workflow.allowed_actions(cand, user)
    reason: str | None = None
    if not can.may_review:
        reason = f"当前角色（{label(user.role.value, 'role')}）不能作出研判。"
    return {
        "allowed": can.decide,
        "reason": reason,
        "statuses": {s.value: STATUS[s] for s in (CandidateStatus.confirmed, CandidateStatus.rejected)},
        "default_status": CandidateStatus.confirmed.value,
        "levels": RISK_LEVEL,
        "colors": WARNING_COLOR,
        "measures": MEASURE,
        "suggested": {m.value for m in cand.suggested_measures},
        "max_rationale": MAX_RATIONALE_CHARS,
        "max_comment": MAX_COMMENT_CHARS,
        "can_assign": can.assign,
        "next_steps": {s.value: STATUS[s] for s in can.next_steps},
        "can_draft": can.draft,
        "advisory_kinds": pagekit.ADVISORY_KIND,
    }


# Evidence: all of a candidate's signals, this many a page, by time (newest first).
EVIDENCE_PAGE_SIZE = 20
# Up to this many member ids the page asks the store for one page of them in time order (a filter on the
# signals' document_id, which is the signal's id); a larger candidate is paged in the order of its signal_ids.
MAX_ID_FILTER = 20_000
# Merge and split as the review service allows them: a new or in-review candidate can be merged into another
# (it becomes merged) or split; the one merged into must not be merged, closed or rejected.
MERGEABLE_STATUSES = frozenset({CandidateStatus.new, CandidateStatus.in_review})
MERGE_TARGET_STATUSES = frozenset(CandidateStatus) - {
    CandidateStatus.merged,
    CandidateStatus.closed,
    CandidateStatus.rejected,
}
MAX_SIMILAR = 8


@dataclass(frozen=True)
class SignalRow:
    """One of a candidate's signals on its evidence page: the excerpt around the candidate's hazard (escaped,
    hazard spans in <mark>) and links to the signal, its stored document and the original page."""

    signal: Signal
    excerpt: Excerpt
    document_url: str
    signal_url: str
    original_url: str | None


def evidence_page(store: Store, cand: CandidateRisk, page: int) -> tuple[list[SignalRow], int, int]:
    """Page ``page`` (clamped to the last) of the candidate's stored signals, newest first, as (rows, total,
    page): one page is read from the store, never every member."""
    ids = list(dict.fromkeys(cand.signal_ids))
    page = min(page, max(1, -(-len(ids) // EVIDENCE_PAGE_SIZE)))
    offset = (page - 1) * EVIDENCE_PAGE_SIZE
    if len(ids) <= MAX_ID_FILTER:
        found = store.query(
            Collection.signals,
            filters={"document_id": ids},
            sort="time",
            descending=True,
            limit=EVIDENCE_PAGE_SIZE,
            offset=offset,
            omit=("segmented_text",),
        )
        signals, total = found.items, found.total
    else:
        signals, total = store.get_many(Collection.signals, ids[offset : offset + EVIDENCE_PAGE_SIZE]), len(ids)
    rows = [
        SignalRow(
            signal=s,
            excerpt=signal_excerpt(s, focus=cand.hazard),
            document_url=document_url(s.document.id),
            signal_url=signal_url(s.id),
            original_url=safe_url(s.document.url),
        )
        for s in signals
        if isinstance(s, Signal)
    ]
    return rows, total, page


def similar_candidates(store: Store, db: ReviewRepository, user: User, cand: CandidateRisk) -> list[CandidateRisk]:
    """Open candidates of the same product category or hazard that the user sees, highest priority first: what
    the merge form offers to merge into this one."""
    found: dict[str, CandidateRisk] = {}
    for name, value in (("product_category", cand.product_category), ("hazard", cand.hazard)):
        if value is None:
            continue
        filters = {name: value, "status": [s.value for s in MERGEABLE_STATUSES]}
        for other in store.query(Collection.candidates, filters=filters, sort="priority", limit=MAX_SIMILAR * 2).items:
            if other.id != cand.id and other.id not in found and workflow.can_see(store, db, user, other):
                found[other.id] = other
    return sorted(found.values(), key=lambda c: -c.priority)[:MAX_SIMILAR]


def _regroup_context(store: Store, db: ReviewRepository, user: User, cand: CandidateRisk) -> dict[str, Any]:
    """What the merge and split forms offer a reviewer: merging another candidate into this one while it is open
    to it, splitting a new or in-review one with more than one signal."""
    may = workflow.allowed_actions(cand, user).may_review
    merge = may and cand.status in MERGE_TARGET_STATUSES
    return {
        "merge": merge,
        "split": may and cand.status in MERGEABLE_STATUSES and len(cand.signal_ids) > 1,
        "similar": similar_candidates(store, db, user, cand) if merge else [],
        "max_reason": MAX_REASON_CHARS,
    }


def _neighbourhood(request: Request, db: ReviewRepository, user: User, cand: CandidateRisk) -> Neighbourhood:
    """The candidate's graph neighbourhood as the user's organisation scope sees it."""
    scoped = visibility.source_scope(db, user)
    sees = None if scoped.everything else scoped.sees
    return neighbourhood(cand, request.app.state.riskmine.settings, sees=sees)


def candidate_context(
    request: Request, store: Store, db: ReviewRepository, user: User, cand: CandidateRisk, page: int = 1
) -> dict[str, Any]:
    """Everything the candidate page shows: the analysis, page ``page`` of the evidence, the review record and the
    forms, for a logged-in user only (the console shows no review record the API would refuse: both need a
    reader's login). The evidence pager keeps the page's other query parameters but the one-off notice."""
    rows, total, page = evidence_page(store, cand, page)
    keep = {k: v for k, v in request.query_params.items() if k not in ("page", "done")}
    return {
        "user": user,
        "c": cand,
        "api_url": candidate_url(cand.id),
        "deadline": deadline_view(cand),
        "factors": factor_rows(cand),
        "statistics": statistic_rows(cand.statistics),
        "scope_labels": SCOPE,
        "trend_chart": weekly_trend_chart(cand.counts_by_week),
        "regions": region_bars(cand),
        "hood": _neighbourhood(request, db, user, cand),
        "evidence": rows,
        "evidence_pager": pagekit.pager(page, total, keep, size=EVIDENCE_PAGE_SIZE, anchor="#evidence"),
        "regroup": _regroup_context(store, db, user, cand),
        "decisions": decisions_of(store, cand.id),
        "comments": workflow.list_comments(store, db, cand.id, user) if pagekit.reads_review(user) else [],
        "objections": workflow.list_objections(store, db, user, candidate_id=cand.id)
        if pagekit.reads_review(user)
        else [],
        "objector_kinds": OBJECTOR_KIND,
        "decide": _decide_context(user, cand),
        "measure_labels": MEASURE,
    }


def _visible_candidate(store: Store, db: ReviewRepository, user: User, candidate_id: str) -> CandidateRisk:
    """The candidate if the user's role and organisation scope let them read it (404 otherwise)."""
    return workflow.visible_candidate(store, db, user, candidate_id)


@router.get("/candidates/{candidate_id}")
def candidate_page(
    request: Request,
    candidate_id: str,
    store: StoreDep,
    db: ReviewDBDep,
    user: OptionalUserDep,
    done: str | None = None,
    page: str | None = None,
) -> Response:
    if user is None:
        return pagekit.login_redirect(request)
    cand = _visible_candidate(store, db, user, candidate_id)
    context = candidate_context(request, store, db, user, cand, pagekit.page_number(page))
    context["notice_ok"] = pagekit.DONE_NOTICES.get(done or "") or REGROUP_NOTICES.get(done or "")
    return pagekit.render(request, "candidate.html", context)
