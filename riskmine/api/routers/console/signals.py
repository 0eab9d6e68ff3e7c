"""The signals page: full-text search over crawled signals, filtered and paged."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from riskmine.api.deps import OptionalUserDep, ReviewDBDep, StoreDep
from riskmine.api.filters import build_filters, within_sources
from riskmine.api.labels import HAZARD, SOURCE_TYPE
from riskmine.api.render import signal_excerpt
from riskmine.api.routers.console import pagekit
from riskmine.api.views import document_url, signal_url
from riskmine.review import visibility
from riskmine.schema import HazardType, SourceType
from riskmine.store.base import Collection, StoreError

router = APIRouter()


@router.get("/signals")
def signals_page(
    request: Request,
    store: StoreDep,
    db: ReviewDBDep,
    user: OptionalUserDep,
    q: str | None = None,
    source_type: str | None = None,
    hazard: str | None = None,
    is_risk: str | None = None,
    page: str | None = None,
) -> Response:
    if user is None:
        return pagekit.login_redirect(request)
    if not pagekit.reads_review(user):
        return RedirectResponse("/advisories", status_code=303)
    text = pagekit.text_param(q)
    chosen: dict[str, Any] = {
        "source_type": pagekit.enum_param(SourceType, source_type),
        "hazard": pagekit.enum_param(HazardType, hazard),
        "is_risk": {"1": True, "0": False}.get(is_risk or ""),
    }
    number = pagekit.page_number(page)
    notice = None
    items: list[Any] = []
    total = 0
    # a user searches the signals of its organisation scope only (a station: its own submissions)
    filters = within_sources(build_filters(**chosen), visibility.visible_sources(store, db, user))
    try:
        result = store.query(
            Collection.signals,
            filters=filters,
            text=text,
            sort=None if text else "time",
            descending=True,
            limit=pagekit.PAGE_SIZE,
            offset=(number - 1) * pagekit.PAGE_SIZE,
        )
        items, total = result.items, result.total
    except StoreError as exc:
        notice = f"无法执行该检索：{exc}"
    params = {
        "q": text,
        "source_type": chosen["source_type"].value if chosen["source_type"] else None,
        "hazard": chosen["hazard"].value if chosen["hazard"] else None,
        "is_risk": is_risk if is_risk in ("1", "0") else None,
    }
    rows = [
        {
            "s": s,
            "excerpt": signal_excerpt(s),
            "document_url": document_url(s.document.id),
            "signal_url": signal_url(s.id),
        }
        for s in items
    ]
    return pagekit.render(
        request,
        "signals.html",
        {
            "user": user,
            "rows": rows,
            "q": text or "",
            "chosen": params,
            "notice": notice,
            "pager": pagekit.pager(number, total, params),
            "options": {"source_type": SOURCE_TYPE, "hazard": HAZARD},
        },
    )
