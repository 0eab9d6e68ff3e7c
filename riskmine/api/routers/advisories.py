"""Advisories: internal bulletins, industry warnings and consumer advisories, and their Atom feed.

Published consumer advisories are open to anyone; other kinds by role (see riskmine.review.advisories);
drafts only to analysts, publishers and admins. Analysts draft from a confirmed candidate, a publisher
approves: nothing reaches its audience before that.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from riskmine.api.deps import OptionalUserDep, PublisherDep, ReviewDBDep, ReviewerDep, SettingsDep, StoreDep
from riskmine.api.filters import OffsetQuery
from riskmine.api.routers.review import call
from riskmine.review import advisories
from riskmine.review.advisories import MAX_BODY_CHARS, MAX_PAGE, MAX_TITLE_CHARS, AdvisoryKind, AdvisoryStatus

router = APIRouter(prefix="/api/v1/advisories", tags=["advisories"])

ATOM_TYPE = "application/atom+xml; charset=utf-8"


class DraftBody(BaseModel):
    candidate_id: str = Field(min_length=1, max_length=100)
    kind: AdvisoryKind
    title: str | None = Field(None, max_length=MAX_TITLE_CHARS, description="default: built from the candidate")
    body: str | None = Field(None, max_length=MAX_BODY_CHARS, description="default: built from the decision")


@router.get("", summary="Advisories you may read, newest first (published consumer advisories: anyone)")
async def list_advisories(
    user: OptionalUserDep,
    db: ReviewDBDep,
    kind: Annotated[list[AdvisoryKind] | None, Query()] = None,
    status: AdvisoryStatus = AdvisoryStatus.published,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    offset: OffsetQuery = 0,
) -> dict[str, Any]:
    items, total = await call(
        advisories.list_advisories, db, user, kinds=kind, status=status, limit=limit, offset=offset
    )
    return {"total": total, "items": [a.public() for a in items], "limit": limit, "offset": offset}


@router.get("/feed.atom", summary="Atom feed of published consumer advisories", response_class=Response)
async def feed(db: ReviewDBDep, settings: SettingsDep) -> Response:
    # links from the configured public address, never from the request's Host header
    body = await call(advisories.atom_feed, db, settings.public_url)
    return Response(body, media_type=ATOM_TYPE)


@router.get("/{advisory_id}", summary="One advisory you may read")
async def get_advisory(advisory_id: str, user: OptionalUserDep, db: ReviewDBDep) -> dict[str, Any]:
    return (await call(advisories.get_advisory, db, advisory_id, user)).public()


@router.post("", status_code=201, summary="Draft an advisory from a confirmed candidate (analyst or admin)")
async def draft(body: DraftBody, user: ReviewerDep, store: StoreDep, db: ReviewDBDep) -> JSONResponse:
    adv = await call(
        advisories.draft, store, db, body.candidate_id, user, kind=body.kind, title=body.title, body=body.body
    )
    return JSONResponse(adv.public(), status_code=201)


@router.post("/{advisory_id}/approve", summary="Approve a draft: publish it to its audience (publisher or admin)")
async def approve(advisory_id: str, user: PublisherDep, db: ReviewDBDep) -> dict[str, Any]:
    return (await call(advisories.approve, db, advisory_id, user)).public()
