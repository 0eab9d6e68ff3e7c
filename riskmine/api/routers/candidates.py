"""Candidate risks: the analysts' queue and one candidate with its evidence."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response

from riskmine.api.cache import cached_json, clock_step, json_body
from riskmine.api.deps import ReaderDep, ReviewDBDep, StoreDep, get_state
from riskmine.api.errors import not_found
from riskmine.api.filters import MAX_QUERY_CHARS, OffsetQuery, build_filters, clean_query
from riskmine.api.views import candidate_detail, candidate_summary
from riskmine.knowledge_graph.evidence import as_china_time
from riskmine.review import orgs, workflow
from riskmine.review.repository import ReviewRepository
from riskmine.review.users import User
from riskmine.schema import CandidateStatus, HazardType, RiskLevel, Tier, WarningColor
from riskmine.store.base import Collection, Page, Store

router = APIRouter(prefix="/api/v1/candidates", tags=["candidates"])

MAX_PAGE = 200
CandidateSort = Literal["priority", "signal_count", "harm_count", "time"]
Scope = Literal["industry_wide", "regional", "systemic"]
# What a list of candidates (candidate_summary, the console queue) never shows: the bulk of a stored candidate
# (its signal ids and evidence), left out by the store rather than parsed and dropped.
LIST_OMIT = ("signal_ids", "evidence")
LIST_CLOCK_STEP_S = 30.0  # a cached list's deadline hours are at most this far behind the clock


def candidate_filters(
    *,
    tier: list[Tier] | None = None,
    status: list[CandidateStatus] | None = None,
    product_category: str | None = None,
    hazard: list[HazardType] | None = None,
    risk_level: list[RiskLevel] | None = None,
    warning_color: list[WarningColor] | None = None,
    region: str | None = None,
    brand: str | None = None,
    enterprise: str | None = None,
    scope: list[Scope] | None = None,
) -> dict[str, Any]:
    return build_filters(
        tier=tier,
        status=status,
        product_category=product_category,
        hazard=hazard,
        risk_level=risk_level,
        warning_color=warning_color,
        region=region,
        brand=brand,
        enterprise=enterprise,
        scope=scope,
    )


def list_variant(store: Store, db: ReviewRepository, reader: User) -> tuple[str, int] | None:
    """What besides the query decides the list a reader gets from the response cache: the candidates' data version
    and the clock step; None for a reader who does not see everything (whose list is not cached). The list view and
    the fast path (riskmine.api.fastpath) both key on it."""
    if not orgs.scope_for(db, reader).everything:
        return None
    return (store.data_version(Collection.candidates), clock_step(LIST_CLOCK_STEP_S))


@router.get("", summary="Candidate risks, highest priority first", response_model=dict[str, Any])
def list_candidates(
    request: Request,
    store: StoreDep,
    reader: ReaderDep,
    db: ReviewDBDep,
    tier: Annotated[list[Tier] | None, Query()] = None,
    status: Annotated[list[CandidateStatus] | None, Query()] = None,
    product_category: str | None = None,
    hazard: Annotated[list[HazardType] | None, Query()] = None,
    risk_level: Annotated[list[RiskLevel] | None, Query()] = None,
    warning_color: Annotated[list[WarningColor] | None, Query()] = None,
    region: str | None = None,
    brand: str | None = None,
    enterprise: str | None = None,
    scope: Annotated[list[Scope] | None, Query(description="industry_wide, regional, systemic")] = None,
    q: Annotated[str | None, Query(max_length=MAX_QUERY_CHARS, description="full-text search")] = None,
    sort: CandidateSort = "priority",
    order: Literal["desc", "asc"] = "desc",
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    offset: OffsetQuery = 0,
) -> Response:
    filters = candidate_filters(
        tier=tier,
        status=status,
        product_category=product_category,
        hazard=hazard,
        risk_level=risk_level,
        warning_color=warning_color,
        region=region,
        brand=brand,
        enterprise=enterprise,
        scope=scope,
    )
    text = clean_query(q)

    def listing(page: Page) -> dict[str, Any]:
        return {
            "total": page.total,
            "items": [candidate_summary(c) for c in page.items],
            "limit": limit,
            "offset": offset,
        }

    variant = list_variant(store, db, reader)
    if variant is None:  # what it sees also depends on the review database: not cached
        page = _scoped(store, db, reader, filters, text, sort, order == "desc", limit, offset)
        return Response(json_body(listing(page)), media_type="application/json")
    # Everyone who sees everything gets the same list: cached per data version (and clock step, for the deadline
    # hours, rounded to 0.1 h); see riskmine.api.cache.
    key = ("candidates", repr(sorted(filters.items())), text, sort, order, limit, offset, *variant)
    return cached_json(
        request,
        get_state(request).responses,
        key,
        lambda: listing(
            store.query(
                Collection.candidates,
                filters=filters,
                text=text,
                sort=sort,
                descending=order == "desc",
                limit=limit,
                offset=offset,
                omit=LIST_OMIT,
            )
        ),
        variant=variant,
    )


# The store's sort fields of the list, as attributes of a candidate (for the scoped scan).
_SORT_KEYS: dict[str, Any] = {
    "priority": lambda c: c.priority,
    "signal_count": lambda c: c.signal_count,
    "harm_count": lambda c: c.harm_count,
    "time": lambda c: as_china_time(c.last_seen or c.updated_at),
}


def _scoped(
    store: Store,
    db: ReviewRepository,
    reader: User,
    filters: dict[str, Any],
    text: str | None,
    sort: str,
    descending: bool,
    limit: int,
    offset: int,
) -> Page:
    """The list for a user whose organisation scope is limited (riskmine.review.orgs), in the list's order."""
    seen = workflow.visible_candidates(store, db, reader, filters, text)
    seen.sort(key=_SORT_KEYS[sort], reverse=descending)
    return Page(items=seen[offset : offset + limit], total=len(seen))


@router.get(
    "/{candidate_id}",
    summary="One candidate risk with its statistics, factor breakdown and evidence, each linking to its source",
)
def get_candidate(candidate_id: str, store: StoreDep, reader: ReaderDep, db: ReviewDBDep) -> dict[str, Any]:
    cand = store.get(Collection.candidates, candidate_id)
    if cand is None or not workflow.can_see(store, db, reader, cand):
        raise not_found("candidate", candidate_id)
    return candidate_detail(cand)
