"""Enterprise profiles (企业画像): list enterprises with their counts, read one profile."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Query

from riskmine.api.deps import ReaderDep, ReviewDBDep, StoreDep
from riskmine.api.errors import ApiError
from riskmine.api.filters import OffsetQuery
from riskmine.api.routers.graph import MAX_NAME, GraphDep
from riskmine.knowledge_graph import graph as kg_module
from riskmine.knowledge_graph.graph import GraphError
from riskmine.knowledge_graph.profiles import EnterpriseProfile, enterprise_profile, list_enterprises
from riskmine.review import visibility, workflow
from riskmine.review.repository import ReviewRepository
from riskmine.review.users import User
from riskmine.store.base import Collection, Store

router = APIRouter(prefix="/api/v1/enterprises", tags=["enterprises"])


@router.get("", summary="Search and list enterprises with their signal and spot-check counts")
def search_enterprises(
    kg: GraphDep,
    _reader: ReaderDep,
    q: Annotated[str | None, Query(max_length=MAX_NAME, description="part of the name")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: OffsetQuery = 0,
) -> dict[str, Any]:
    with kg_module.lock:
        items, total = list_enterprises(kg, q, limit=limit, offset=offset)
    return {"total": total, "limit": limit, "offset": offset, "items": [asdict(i) for i in items]}


@router.get("/{enterprise:path}", summary="The profile of one enterprise (any spelling of its name, or its key)")
def get_enterprise(
    kg: GraphDep, store: StoreDep, reader: ReaderDep, db: ReviewDBDep, enterprise: str
) -> dict[str, Any]:
    if len(enterprise) > MAX_NAME:
        raise ApiError(422, "invalid_request", f"enterprise name is longer than {MAX_NAME} characters")
    with kg_module.lock:
        try:
            profile = enterprise_profile(kg, enterprise, store)
        except GraphError as exc:
            raise ApiError(404, "not_found", str(exc)) from exc
    return _within_scope(profile, store, db, reader).to_dict()


def _within_scope(profile: EnterpriseProfile, store: Store, db: ReviewRepository, reader: User) -> EnterpriseProfile:
    """The profile's candidates narrowed to those the reader may see (its counts, signals and failed spot checks
    already come from the graph as the reader's organisation scope sees it: see graph.get_visible_graph)."""
    if visibility.source_scope(db, reader).everything:
        return profile
    listed = store.get_many(Collection.candidates, [c["id"] for c in profile.candidates])
    seen = {c.id for c in listed if workflow.can_see(store, db, reader, c)}
    profile.candidates = [c for c in profile.candidates if c["id"] in seen]
    return profile
