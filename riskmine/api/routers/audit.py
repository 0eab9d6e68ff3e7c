"""The audit log (admins only): every change and export, newest first; append-only."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query

from riskmine.api.deps import AdminDep, ReviewDBDep
from riskmine.api.filters import OffsetQuery
from riskmine.api.routers.review import call
from riskmine.review import audit
from riskmine.review.audit import MAX_PAGE

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])


@router.get("", summary="Audit events, newest first, filtered by actor, action, target or time")
async def list_events(
    _admin: AdminDep,
    db: ReviewDBDep,
    actor: Annotated[str | None, Query(max_length=64)] = None,
    action: Annotated[str | None, Query(max_length=100)] = None,
    target_kind: Annotated[str | None, Query(max_length=50)] = None,
    target_id: Annotated[str | None, Query(max_length=200)] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    offset: OffsetQuery = 0,
) -> dict[str, Any]:
    items, total = await call(
        audit.events,
        db,
        actor=actor,
        action=action,
        target_kind=target_kind,
        target_id=target_id,
        since=since,
        until=until,
        limit=limit,
        offset=offset,
    )
    return {"total": total, "items": [e.public() for e in items], "limit": limit, "offset": offset}
