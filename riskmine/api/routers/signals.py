"""Signals: search and filter processed documents, read one."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response

from riskmine.api.cache import cached_json
from riskmine.api.deps import ReaderDep, ReviewDBDep, StoreDep, get_state
from riskmine.api.errors import not_found
from riskmine.api.filters import (
    MAX_QUERY_CHARS,
    TIME_FIELD,
    OffsetQuery,
    build_filters,
    clean_query,
    time_range,
    within_sources,
)
from riskmine.api.views import signal_detail, signal_summary
from riskmine.review import orgs, visibility
from riskmine.review.repository import ReviewRepository
from riskmine.review.roles import Role
from riskmine.review.users import User
from riskmine.schema import HazardType, RiskLevel, SourceType, WarningColor
from riskmine.store.base import Collection, Store

router = APIRouter(prefix="/api/v1/signals", tags=["signals"])

MAX_PAGE = 200
SignalSort = Literal["time", "risk_score", "relevance"]
# What signal_summary never shows, left out by the store rather than parsed and dropped.
LIST_OMIT = ("segmented_text", "evidence", "organisations", "product_terms", "standards", "model_versions")


def signal_filters(
    *,
    source: str | None = None,
    source_type: list[SourceType] | None = None,
    product_category: str | None = None,
    hazard: list[HazardType] | None = None,
    region: str | None = None,
    is_risk: bool | None = None,
    risk_level: list[RiskLevel] | None = None,
    warning_color: list[WarningColor] | None = None,
    since: str | None = None,
    until: str | None = None,
) -> dict[str, Any]:
    filters = build_filters(
        source=source,
        source_type=source_type,
        product_category=product_category,
        hazard=hazard,
        region=region,
        is_risk=is_risk,
        risk_level=risk_level,
        warning_color=warning_color,
    )
    when = time_range(since, until)
    if when is not None:
        filters[TIME_FIELD] = when
    return filters


def store_sort(sort: str | None, q: str | None) -> str | None:
    """The store's sort field for the asked sort: None means by relevance (only with a query)."""
    if sort == "relevance" or (sort is None and q):
        return None if q else "time"
    return sort or "time"


def list_variant(store: Store, db: ReviewRepository, reader: User) -> tuple[str] | None:
    """What besides the query decides the search list a reader who sees every source gets from the response cache
    (the signals' data version); None for a reader who does not (their sources are part of the key instead). The
    list view and the fast path (riskmine.api.fastpath) both key on it."""
    if not orgs.scope_for(db, reader).everything:
        return None
    return (store.data_version(Collection.signals),)


@router.get("", summary="Search and filter signals", response_model=dict[str, Any])
def list_signals(
    request: Request,
    store: StoreDep,
    reader: ReaderDep,
    db: ReviewDBDep,
    q: Annotated[str | None, Query(max_length=MAX_QUERY_CHARS, description="full-text search")] = None,
    source: str | None = None,
    source_type: Annotated[list[SourceType] | None, Query()] = None,
    product_category: str | None = None,
    hazard: Annotated[list[HazardType] | None, Query()] = None,
    region: str | None = None,
    is_risk: bool | None = None,
    risk_level: Annotated[list[RiskLevel] | None, Query()] = None,
    warning_color: Annotated[list[WarningColor] | None, Query()] = None,
    since: Annotated[str | None, Query(description="published on or after: YYYY-MM-DD or ISO date-time")] = None,
    until: Annotated[str | None, Query(description="published on or before: YYYY-MM-DD or ISO date-time")] = None,
    sort: Annotated[SignalSort | None, Query(description="time (default), risk_score, or relevance (with q)")] = None,
    order: Literal["desc", "asc"] = "desc",
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    offset: OffsetQuery = 0,
) -> Response:
    text = clean_query(q)
    filters = signal_filters(
        source=source,
        source_type=source_type,
        product_category=product_category,
        hazard=hazard,
        region=region,
        is_risk=is_risk,
        risk_level=risk_level,
        warning_color=warning_color,
        since=since,
        until=until,
    )
    # The reader's sources are part of the filters, so readers who see the same sources share one cached answer
    # per data version of the signals (riskmine.api.cache): a write by any process is a new version.
    variant = list_variant(store, db, reader)  # None: the reader does not see every source
    scoped = within_sources(filters, None if variant is not None else visibility.visible_sources(store, db, reader))
    by = store_sort(sort, text)

    def listing() -> dict[str, Any]:
        page = store.query(
            Collection.signals,
            filters=scoped,
            text=text,
            sort=by,
            descending=order == "desc",
            limit=limit,
            offset=offset,
            omit=LIST_OMIT,
        )
        return {"total": page.total, "items": [signal_summary(s) for s in page.items], "limit": limit, "offset": offset}

    key = (
        "signals",
        repr(sorted(scoped.items())),
        text,
        by,
        order,
        limit,
        offset,
        variant[0] if variant is not None else store.data_version(Collection.signals),
    )
    return cached_json(request, get_state(request).responses, key, listing, variant=variant)


@router.get("/{signal_id}", summary="One signal with all its annotations")
def get_signal(signal_id: str, store: StoreDep, reader: ReaderDep, db: ReviewDBDep) -> dict[str, Any]:
    sig = store.get(Collection.signals, signal_id)
    if sig is None or not visibility.source_scope(db, reader).sees(sig.document.source):
        raise not_found("signal", signal_id)
    return signal_detail(sig, show_private=reader.role is Role.admin)
