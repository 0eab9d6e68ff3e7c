"""The console's front page: the candidate queue, immediate tier first, filtered and paged."""

from __future__ import annotations

from enum import Enum
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from riskmine.api.console_views import deadline_view
from riskmine.api.deps import OptionalUserDep, ReviewDBDep, StoreDep
from riskmine.api.filters import build_filters
from riskmine.api.labels import HAZARD, RISK_LEVEL, STATUS, TIER
from riskmine.api.routers.candidates import LIST_OMIT
from riskmine.api.routers.console import pagekit
from riskmine.api.views import candidate_url
from riskmine.review import orgs, workflow
from riskmine.review.repository import ReviewRepository
from riskmine.review.users import User
from riskmine.schema import CandidateStatus, HazardType, RiskLevel, Tier
from riskmine.store.base import Collection, Page, Store

router = APIRouter()

TIER_ORDER = (Tier.immediate, Tier.review, Tier.watch)
_BY_PRIORITY: dict[str, Any] = {"sort": "priority", "descending": True, "omit": LIST_OMIT}


def tiered_page(store: Store, filters: dict[str, Any], *, limit: int, offset: int) -> Page:
    """A page of the candidate queue: immediate first, then review, then watch; by priority within a tier.
    Its candidates lack what the queue does not show (LIST_OMIT: signal ids and evidence).

    The store sorts by one field, so the page is assembled from the tiers' own pages using their counts."""
    if "tier" in filters:
        return store.query(Collection.candidates, filters=filters, limit=limit, offset=offset, **_BY_PRIORITY)
    counts = {b.key: b.count for b in store.aggregate(Collection.candidates, "tier", filters=filters)}
    items: list[Any] = []
    skip = offset
    for tier in TIER_ORDER:
        n = counts.get(tier.value, 0)
        if skip >= n:
            skip -= n
            continue
        if len(items) < limit:
            part = store.query(
                Collection.candidates,
                filters={**filters, "tier": tier.value},
                limit=limit - len(items),
                offset=skip,
                **_BY_PRIORITY,
            )
            items.extend(part.items)
        skip = 0
    return Page(items=items, total=sum(counts.values()))


def scoped_page(
    store: Store, db: ReviewRepository, user: User, filters: dict[str, Any], *, limit: int, offset: int
) -> tuple[Page, dict[str, int]]:
    """The queue page of a user whose organisation scope is limited: the matching candidates they may see
    (riskmine.review.workflow.visible_candidates), tier first and by priority, and their counts per tier."""
    rank = {t.value: i for i, t in enumerate(TIER_ORDER)}
    seen = workflow.visible_candidates(store, db, user, filters)
    seen.sort(key=lambda c: (rank.get(c.tier.value, len(rank)), -c.priority, c.id))
    counts: dict[str, int] = {}
    for c in seen:
        counts[c.tier.value] = counts.get(c.tier.value, 0) + 1
    return Page(items=seen[offset : offset + limit], total=len(seen)), counts


@router.get("/")
def queue(
    request: Request,
    store: StoreDep,
    db: ReviewDBDep,
    user: OptionalUserDep,
    tier: str | None = None,
    status: str | None = None,
    product_category: str | None = None,
    hazard: str | None = None,
    risk_level: str | None = None,
    region: str | None = None,
    page: str | None = None,
) -> Response:
    if user is None:
        return pagekit.login_redirect(request)
    chosen = {
        "tier": pagekit.enum_param(Tier, tier),
        "status": pagekit.enum_param(CandidateStatus, status),
        "hazard": pagekit.enum_param(HazardType, hazard),
        "risk_level": pagekit.enum_param(RiskLevel, risk_level),
        "product_category": pagekit.text_param(product_category),
        "region": pagekit.text_param(region),
    }
    if not pagekit.reads_review(user):
        return RedirectResponse("/advisories", status_code=303)
    number = pagekit.page_number(page)
    filters = build_filters(**chosen)
    if orgs.scope_for(db, user).everything:
        result = tiered_page(store, filters, limit=pagekit.PAGE_SIZE, offset=(number - 1) * pagekit.PAGE_SIZE)
        tiers = {str(b.key): b.count for b in store.aggregate(Collection.candidates, "tier")}
    else:
        result, _ = scoped_page(
            store, db, user, filters, limit=pagekit.PAGE_SIZE, offset=(number - 1) * pagekit.PAGE_SIZE
        )
        _, tiers = scoped_page(store, db, user, {}, limit=0, offset=0)
    params = {k: (v.value if isinstance(v, Enum) else v) for k, v in chosen.items()}
    return pagekit.render(
        request,
        "queue.html",
        {
            "user": user,
            "candidates": result.items,
            "pager": pagekit.pager(number, result.total, params),
            "chosen": params,
            "tier_counts": tiers,
            "options": {"tier": TIER, "status": STATUS, "hazard": HAZARD, "risk_level": RISK_LEVEL},
            "candidate_api": candidate_url,
            "deadline_of": deadline_view,
        },
    )
