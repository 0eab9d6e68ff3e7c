"""The station page: a monitoring station's submitted batches and documents with their outcomes."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from riskmine.api.console_views import BATCH_STATUS, station_documents
from riskmine.api.deps import OptionalUserDep, ReviewDBDep, StateDep, StoreDep
from riskmine.api.errors import ApiError
from riskmine.api.routers.console import pagekit
from riskmine.review import visibility
from riskmine.review.roles import Role
from riskmine.schema.enums import station_source

router = APIRouter()

STATION_ROLES = frozenset({Role.admin, Role.analyst, Role.station})


@router.get("/station")
def station_page(
    request: Request,
    state: StateDep,
    store: StoreDep,
    db: ReviewDBDep,
    user: OptionalUserDep,
    station: str | None = None,
    page: str | None = None,
) -> Response:
    """A station's batches and submitted documents with their outcomes. A station account sees its own
    organisation's; admins and analysts choose among the stations of their organisation scope."""
    if user is None:
        return pagekit.login_redirect(request)
    if user.role not in STATION_ROLES:
        raise ApiError(403, "forbidden", f"role {user.role.value!r} cannot see station submissions")
    name = (user.organisation or user.username) if user.role is Role.station else pagekit.text_param(station)
    if name and not visibility.source_scope(db, user).sees_station(name):
        raise ApiError(403, "forbidden", f"station {name!r} is outside the organisation scope of {user.username!r}")
    number = pagekit.page_number(page)
    batches: list[Any] = []
    batch_total = 0
    documents: list[Any] = []
    doc_total = 0
    if name:
        registry = state.batches
        batches, batch_total = registry.list(name, limit=pagekit.PAGE_SIZE)
        documents, doc_total = station_documents(
            store, station_source(name), limit=pagekit.PAGE_SIZE, offset=(number - 1) * pagekit.PAGE_SIZE
        )
    return pagekit.render(
        request,
        "station.html",
        {
            "user": user,
            "station": name,
            "choose": user.role is not Role.station,
            "batches": batches,
            "batch_total": batch_total,
            "documents": documents,
            "pager": pagekit.pager(number, doc_total, {"station": name if user.role is not Role.station else None}),
            "batch_status": BATCH_STATUS,
        },
    )
