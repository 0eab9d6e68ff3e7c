"""Knowledge graph: entity lookup, a node's neighbourhood, paths between two entities, counts.

The graph is the one persisted under the var dir; when the store holds a different number
of signals than the graph, it is rebuilt from the store first (see
:func:`riskmine.knowledge_graph.graph.current_graph`). A reader whose organisation scope is not
everything reads the part of it the signals of its sources support: another source's nodes, signals
and the entities only they name answer as unknown (404).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from riskmine.api.deps import ReaderDep, ReviewDBDep, SettingsDep, StoreDep
from riskmine.api.errors import ApiError
from riskmine.knowledge_graph import graph as kg_module
from riskmine.knowledge_graph.graph import GraphError, KnowledgeGraph, current_graph
from riskmine.knowledge_graph.graph import NodeType as NodeTypeName
from riskmine.review import visibility

router = APIRouter(prefix="/api/v1/graph", tags=["graph"])

MAX_NAME = 200


def get_graph(settings: SettingsDep, store: StoreDep) -> KnowledgeGraph:
    """The process's graph, caught up with the store."""
    try:
        return current_graph(settings, store)
    except GraphError as exc:
        raise ApiError(503, "graph_unavailable", str(exc)) from exc


def get_visible_graph(settings: SettingsDep, store: StoreDep, reader: ReaderDep, db: ReviewDBDep) -> KnowledgeGraph:
    """The graph as the reader's organisation scope (riskmine.review.visibility) sees it: the whole graph for the
    centre and admins, else the part the signals of the sources it sees support (KnowledgeGraph.restricted)."""
    kg = get_graph(settings, store)
    scoped = visibility.source_scope(db, reader)
    if scoped.everything:
        return kg
    with kg_module.lock:
        return kg.restricted(scoped.sees)


GraphDep = Annotated[KnowledgeGraph, Depends(get_visible_graph)]


def _resolve(kg: KnowledgeGraph, name: str, what: str) -> str:
    """A node id for a node id or an entity name; 404 naming the parameter when none."""
    if name in kg:
        return name
    found = kg.resolve(name)
    if not found:
        raise ApiError(
            404,
            "not_found",
            f"{what} {name!r} is neither a node id nor a known entity name; look it up with /api/v1/graph/entities?q=",
        )
    return found[0]


@router.get("/entities", summary="Look up entities by name (through entity resolution)")
def lookup_entities(
    kg: GraphDep,
    _reader: ReaderDep,
    q: Annotated[str, Query(min_length=1, max_length=MAX_NAME, description="a name, alias or node id")],
    kind: Annotated[NodeTypeName | None, Query(alias="type", description="only nodes of this type")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> dict[str, Any]:
    if not q.strip():
        raise ApiError(422, "invalid_request", "q is blank; give a name such as 格力 or 深圳市极充科技有限公司")
    with kg_module.lock:
        items = [m.to_dict() for m in kg.lookup(q, kind, limit)]
    return {"query": q, "type": kind, "items": items, "total": len(items)}


@router.get("/stats", summary="Counts of nodes by type and edges by relation")
def graph_stats(kg: GraphDep, _reader: ReaderDep) -> dict[str, Any]:
    with kg_module.lock:
        return kg.stats()


@router.get("/paths", summary="Shortest paths between two entities")
def graph_paths(
    kg: GraphDep,
    _reader: ReaderDep,
    source: Annotated[str, Query(min_length=1, max_length=MAX_NAME, description="node id or entity name")],
    target: Annotated[str, Query(min_length=1, max_length=MAX_NAME, description="node id or entity name")],
    max_len: Annotated[int, Query(ge=1, le=8, description="longest path, in edges")] = 4,
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
) -> dict[str, Any]:
    with kg_module.lock:
        src = _resolve(kg, source.strip(), "source")
        dst = _resolve(kg, target.strip(), "target")
        try:
            paths = kg.paths(src, dst, max_len=max_len, limit=limit)
        except GraphError as exc:
            raise ApiError(422, "invalid_request", str(exc)) from exc
    return {"source": src, "target": dst, "max_len": max_len, "paths": paths, "total": len(paths)}


@router.get("/nodes/{node_id:path}/neighbourhood", summary="Nodes within k hops of a node")
def node_neighbourhood(
    kg: GraphDep,
    _reader: ReaderDep,
    node_id: str,
    depth: Annotated[int, Query(ge=1, le=4)] = 1,
    types: Annotated[list[NodeTypeName] | None, Query(description="only list nodes of these types")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    with kg_module.lock:
        nid = _resolve(kg, node_id, "node")
        try:
            return kg.neighbourhood(nid, depth=depth, types=types, limit=limit).to_dict()
        except GraphError as exc:
            raise ApiError(422, "invalid_request", str(exc)) from exc


@router.get("/nodes/{node_id:path}", summary="One node: its type, label and degree")
def get_node(kg: GraphDep, _reader: ReaderDep, node_id: str) -> dict[str, Any]:
    with kg_module.lock:
        return kg.node(_resolve(kg, node_id, "node"))
