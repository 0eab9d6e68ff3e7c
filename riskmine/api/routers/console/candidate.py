"""A candidate's page: the analysis, the evidence, the review record, and the forms this user may use."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from riskmine.api.console_views import (
    MEASURE,
    SCOPE,
    Neighbourhood,
    deadline_view,
    decisions_of,
    evidence_rows,
    factor_rows,
    neighbourhood,
    region_bars,
    statistic_rows,
)
from riskmine.api.deps import OptionalUserDep, ReviewDBDep, StoreDep
from riskmine.api.labels import RISK_LEVEL, STATUS, WARNING_COLOR, label
from riskmine.api.routers.console import pagekit
from riskmine.api.svg import weekly_trend_chart
from riskmine.api.views import candidate_url
from riskmine.review import visibility, workflow
from riskmine.review.repository import ReviewRepository
from riskmine.review.users import User
from riskmine.review.workflow import MAX_COMMENT_CHARS, MAX_RATIONALE_CHARS
from riskmine.schema import CandidateRisk, CandidateStatus
from riskmine.store.base import Store

router = APIRouter()

OBJECTOR_KIND: dict[str, str] = {"producer": "生产者", "seller": "销售者"}


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


def _neighbourhood(request: Request, db: ReviewRepository, user: User, cand: CandidateRisk) -> Neighbourhood:
    """The candidate's graph neighbourhood as the user's organisation scope sees it."""
    scoped = visibility.source_scope(db, user)
    sees = None if scoped.everything else scoped.sees
    return neighbourhood(cand, request.app.state.riskmine.settings, sees=sees)


def candidate_context(
    request: Request, store: Store, db: ReviewRepository, user: User, cand: CandidateRisk
) -> dict[str, Any]:
    """Everything the candidate page shows: the analysis, the evidence, the review record and the forms, for a
    logged-in user only (the console shows no review record the API would refuse: both need a reader's login)."""
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
        "evidence": evidence_rows(cand, store),
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
) -> Response:
    if user is None:
        return pagekit.login_redirect(request)
    cand = _visible_candidate(store, db, user, candidate_id)
    context = candidate_context(request, store, db, user, cand)
    context["notice_ok"] = pagekit.DONE_NOTICES.get(done or "")
    return pagekit.render(request, "candidate.html", context)
