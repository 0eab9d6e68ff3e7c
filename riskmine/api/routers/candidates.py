"""Candidate risks: the analysts' queue and one candidate with its evidence."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from riskmine.api.deps import ReaderDep, ReviewDBDep, StoreDep
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


@router.get("", summary="Candidate risks, highest priority first")
def list_candidates(
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
) -> dict[str, Any]:
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
    if not orgs.scope_for(db, reader).everything:
        page = _scoped(store, db, reader, filters, clean_query(q), sort, order == "desc", limit, offset)
    else:
        page = store.query(
            Collection.candidates,
            filters=filters,
            text=clean_query(q),
            sort=sort,
            descending=order == "desc",
            limit=limit,
            offset=offset,
        )
    return {"total": page.total, "items": [candidate_summary(c) for c in page.items], "limit": limit, "offset": offset}


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
