"""Enterprise profiles (企业画像): list enterprises with their counts, read one profile."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Query

from riskmine.api.deps import ReaderDep, StoreDep
from riskmine.api.errors import ApiError
from riskmine.api.filters import OffsetQuery
from riskmine.api.routers.graph import MAX_NAME, GraphDep
from riskmine.knowledge_graph import graph as kg_module
from riskmine.knowledge_graph.graph import GraphError
from riskmine.knowledge_graph.profiles import enterprise_profile, list_enterprises

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
def get_enterprise(kg: GraphDep, store: StoreDep, _reader: ReaderDep, enterprise: str) -> dict[str, Any]:
    if len(enterprise) > MAX_NAME:
        raise ApiError(422, "invalid_request", f"enterprise name is longer than {MAX_NAME} characters")
    with kg_module.lock:
        try:
            return enterprise_profile(kg, enterprise, store).to_dict()
        except GraphError as exc:
            raise ApiError(404, "not_found", str(exc)) from exc
