"""The review console: server-rendered pages (no JavaScript, but for the station upload's optional drop zone), Chinese
labels, every crawled text escaped.

One module a page group, each with its own router; `router` joins them in the order they are matched and is
what the app includes. Shared helpers live in `pagekit`."""

from __future__ import annotations

from fastapi import APIRouter

from riskmine.api.routers.console import (
    advisories,
    alerts,
    audit,
    candidate,
    candidate_forms,
    enterprise,
    exports,
    graph,
    jobs,
    overdue,
    public_report,
    queue,
    reports,
    saved_filters,
    session,
    signals,
    sources,
    station,
)

router = APIRouter(include_in_schema=False)
for _pages in (
    queue,
    candidate,
    candidate_forms,
    advisories,
    signals,
    session,
    overdue,
    station,
    alerts,
    jobs,
    public_report,
    audit,
):
    router.include_router(_pages.router)
router.include_router(sources.router)
router.include_router(graph.router)
router.include_router(enterprise.router)
router.include_router(exports.router)
router.include_router(saved_filters.router)
router.include_router(reports.router)

__all__ = ["router"]
