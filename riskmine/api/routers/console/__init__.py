"""The review console: server-rendered pages (no JavaScript), Chinese labels, every crawled text escaped.

One module a page group, each with its own router; `router` joins them in the order they are matched and is
what the app includes. Shared helpers live in `pagekit`."""

from __future__ import annotations

from fastapi import APIRouter

from riskmine.api.routers.console import (
    advisories,
    candidate,
    candidate_forms,
    overdue,
    queue,
    session,
    signals,
    station,
)

router = APIRouter(include_in_schema=False)
for _pages in (queue, candidate, candidate_forms, advisories, signals, session, overdue, station):
    router.include_router(_pages.router)

__all__ = ["router"]
