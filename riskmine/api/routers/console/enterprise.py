"""An enterprise's page (企业画像): its products, hazards, regions, spot-check failures and recalls, and the
candidates that name it or hold its signals, with links into the graph pages.

The profile is the one GET /api/v1/enterprises/{name} answers (riskmine.knowledge_graph.profiles), read through
the API's own handler over the graph as the user's organisation scope sees it, so it counts and lists only
what the user may see."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from riskmine.api.deps import OptionalUserDep, ReviewDBDep, StoreDep
from riskmine.api.labels import label
from riskmine.api.render import Bar, bars
from riskmine.api.routers import enterprises as enterprises_api
from riskmine.api.routers.console import pagekit
from riskmine.api.routers.console.graph import describe, graph_href, in_visible_graph, page_user
from riskmine.api.svg import column_chart
from riskmine.api.views import signal_url
from riskmine.knowledge_graph import graph as kg_module
from riskmine.knowledge_graph.graph import KnowledgeGraph, node_id
from riskmine.review.repository import ReviewRepository
from riskmine.review.users import User
from riskmine.schema import SourceType
from riskmine.schema.labels import SPOT_CHECK_FIELD_LABELS
from riskmine.store.base import Store

router = APIRouter()

MAX_PRODUCTS = 30


def _linked(kg: KnowledgeGraph, kind: str, counts: dict[str, int], table: str | None = None) -> list[dict[str, Any]]:
    """Count rows of a profile (hazard codes, or brand, category and region names) with a link to the graph node
    when the user's graph has one."""
    rows = []
    for b in bars(counts, limit=50):
        key = next(iter(kg.resolve(b.label, kind)), None)
        name = label(b.label, table) if table else b.label
        rows.append({"bar": Bar(name, b.count, b.percent), "href": graph_href(key) if key else None})
    return rows


def _products(kg: KnowledgeGraph, ent: str) -> list[dict[str, Any]]:
    """The products the enterprise's signals name (and those of its brands), most connected first."""
    hood = kg.neighbourhood(ent, depth=2, types=["product"], limit=MAX_PRODUCTS)
    return [describe(kg, n["id"]) for n in hood.nodes[1:]]


def _enterprise_page(request: Request, store: Store, db: ReviewRepository, user: User, name: str) -> Response:
    found = in_visible_graph(
        request, store, db, user, name, lambda kg: enterprises_api.get_enterprise(kg, store, user, db, name)
    )
    if isinstance(found, Response):
        return found
    kg, profile = found
    ent = profile["node_id"]
    with kg_module.lock:
        products = _products(kg, ent)
        hazards = _linked(kg, "hazard", profile["hazards"], "hazard")
        brands = _linked(kg, "brand", profile["brands"])
        regions = _linked(kg, "region", profile["regions"])
        categories = _linked(kg, "category", profile["categories"])
    recalls = [s for s in profile["recent_signals"] if s["source_type"] == SourceType.recall.value]
    monthly = {m: c["signals"] for m, c in profile["monthly"].items()}
    context = {
        "user": user,
        "p": profile,
        "api_url": "/api/v1/enterprises/" + quote(profile["key"], safe=""),
        "graph_url": graph_href(ent),
        "region_url": graph_href(profile["region"]["id"]) if profile["region"] else None,
        "products": products,
        "hazards": hazards,
        "brands": brands,
        "regions": regions,
        "categories": categories,
        "source_types": bars(profile["source_types"], table="source_type"),
        "monthly_chart": column_chart(bars(monthly, by_key=True), title="每月信号数"),
        "failures": profile["failures"],
        "recalls": recalls,
        "recall_total": profile["source_types"].get(SourceType.recall.value, 0),
        "failure_fields": SPOT_CHECK_FIELD_LABELS,
        "signal_url": signal_url,
        "hazard_href": lambda code: graph_href(node_id("hazard", code)),
    }
    return pagekit.render(request, "enterprise.html", context)


@router.get("/enterprises/{name:path}")
async def enterprise_page(
    request: Request, name: str, store: StoreDep, db: ReviewDBDep, user: OptionalUserDep
) -> Response:
    """The profile of one enterprise, by any spelling of its name, its key or its node id."""
    who = page_user(request, user)
    if isinstance(who, Response):
        return who
    return await run_in_threadpool(_enterprise_page, request, store, db, who, name.strip())
