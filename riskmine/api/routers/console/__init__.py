"""The review console: server-rendered pages (no JavaScript), Chinese labels, every crawled text escaped.

One module a page group, each with its own router; `router` joins them in the order they are matched and is
what the app includes. Shared helpers live in `pagekit`."""

from __future__ import annotations

from fastapi import APIRouter

from riskmine.api.routers.console import (
    advisories,
    alerts,
    candidate,
    candidate_forms,
    jobs,
    overdue,
    queue,
    session,
    signals,
    sources,
    station,
)

router = APIRouter(include_in_schema=False)
for _pages in (queue, candidate, candidate_forms, advisories, signals, session, overdue, station, alerts, jobs):
    router.include_router(_pages.router)
router.include_router(sources.router)

__all__ = ["router"]
