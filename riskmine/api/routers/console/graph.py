"""The knowledge-graph pages: look an entity up (/graph), and one node's page (/graph/{node}): its neighbourhood
(a server-drawn SVG and a table of the same nodes and edges), the hazards it shares with other products and
enterprises, the regions where its signals concentrate, and the candidates holding its signals.

The graph is the one the JSON API reads, as the user's organisation scope sees it
(riskmine.api.routers.graph.get_visible_graph), and the node and its neighbourhood come from the API's own
handlers; every label comes from crawled text and is escaped, in the SVG as in the tables."""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup, escape

from riskmine.api.deps import OptionalUserDep, ReviewDBDep, StoreDep
from riskmine.api.errors import ApiError
from riskmine.api.labels import label
from riskmine.api.render import Bar, bars
from riskmine.api.routers import graph as graph_api
from riskmine.api.routers.console import pagekit
from riskmine.knowledge_graph import graph as kg_module
from riskmine.knowledge_graph.graph import ENTITY_TYPES, NODE_TYPES, KnowledgeGraph, node_type
from riskmine.review import workflow
from riskmine.review.repository import ReviewRepository
from riskmine.review.users import User
from riskmine.schema import CandidateRisk
from riskmine.store.base import Store

router = APIRouter()
T = TypeVar("T")

MAX_MATCHES = 50
DEFAULT_DEPTH = 2
DEFAULT_DRAWN = 60
MAX_DRAWN = 200
# Signals of a node read for its hazards, regions and candidates (a hub such as 食品 or fire has many more).
MAX_SIGNALS = 2000
MAX_CANDIDATE_SIGNALS = 500
SHARED_HAZARDS = 6
SHARED_PEERS = 8
CLUSTERS = 12
CANDIDATES = 20
PEER_TYPES = ("product", "enterprise")


def page_user(request: Request, user: User | None) -> User | Response:
    """The signed-in reader, or where to send anyone else: an anonymous visitor to log in, an api_consumer
    (who reads published advisories only, as in the API) to the advisories."""
    if user is None:
        return pagekit.login_redirect(request)
    if not pagekit.reads_review(user):
        return RedirectResponse("/advisories", status_code=303)
    return user


def visible_graph(request: Request, store: Store, db: ReviewRepository, user: User) -> KnowledgeGraph:
    """The graph as the user's organisation scope sees it: the JSON API's dependency, called directly."""
    return graph_api.get_visible_graph(request.app.state.riskmine.settings, store, user, db)


def graph_href(nid: str) -> str:
    return "/graph/" + quote(nid, safe=":")


def enterprise_href(name: str) -> str:
    """The enterprise page of an enterprise node id or name."""
    return "/enterprises/" + quote(name, safe=":")


def node_name(node: Mapping[str, Any]) -> str:
    """A node's name on the page: hazards and populations by their Chinese label, a signal by its day and
    source type (signals have no name), anything else by its label."""
    kind = str(node.get("type") or node_type(str(node["id"])))
    key = str(node["id"]).split(":", 1)[-1]
    if kind == "hazard":
        return label(key, "hazard")
    if kind == "population":
        return label(key, "population")
    if kind == "signal":
        return f"{node.get('when', '')} {label(node.get('source_type'), 'source_type')}".strip()
    return str(node.get("label") or key)


def describe(kg: KnowledgeGraph, nid: str) -> dict[str, Any]:
    """A node as the pages list it: id, type, Chinese type, name and link."""
    data = kg.graph.nodes[nid]
    node = {"id": nid, "type": node_type(nid), **data}
    return {
        "id": nid,
        "type": node["type"],
        "kind": label(node["type"], "node_type"),
        "name": node_name(node),
        "href": graph_href(nid),
        "degree": kg.graph.degree(nid),
    }


# ---------------------------------------------------------------------------------------------- the drawing

WIDTH, HEIGHT = 760, 560
MARGIN = 70
LABEL_CHARS = 10
CROWDED_RING = 14  # more nodes than this on a ring: every other one a little further out, so labels overlap less


@dataclass(frozen=True)
class _Placed:
    node: dict[str, Any]
    x: float
    y: float
    angle: float


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _layout(nodes: Sequence[dict[str, Any]]) -> dict[str, _Placed]:
    """The centre in the middle, each hop on its own ring, a ring's nodes grouped by type."""
    cx, cy = WIDTH / 2, HEIGHT / 2
    rings: dict[int, list[dict[str, Any]]] = {}
    for n in nodes[1:]:
        rings.setdefault(int(n["hops"]), []).append(n)
    deepest = max(rings, default=1)
    radius = min(cx, cy) - MARGIN / 2
    placed = {nodes[0]["id"]: _Placed(nodes[0], cx, cy, 0.0)}
    order = {t: i for i, t in enumerate(NODE_TYPES)}
    for hops, ring in sorted(rings.items()):
        ring.sort(key=lambda n: (order.get(n["type"], 99), n["name"], n["id"]))
        r = radius * hops / deepest
        for i, n in enumerate(ring):
            angle = 2 * math.pi * i / len(ring) + hops * 0.35
            rr = r + (14 if len(ring) > CROWDED_RING and i % 2 else 0)
            placed[n["id"]] = _Placed(n, cx + rr * math.cos(angle), cy + rr * math.sin(angle), angle)
    return placed


def _short(name: str) -> str:
    return name if len(name) <= LABEL_CHARS else name[: LABEL_CHARS - 1] + "…"


def draw_neighbourhood(nodes: Sequence[dict[str, Any]], edges: Sequence[dict[str, Any]], *, title: str) -> Markup:
    """An SVG drawing of a neighbourhood (nodes as the page lists them, the centre first; edges by id). A node
    the listed edges do not join to a nearer one is joined to the centre by a dashed line (its link runs through
    nodes not drawn). Each node links to its page and names itself in a tooltip; every text is escaped."""
    if not nodes:
        return Markup('<p class="muted">暂无数据</p>')
    placed = _layout(nodes)
    hops = {n["id"]: int(n.get("hops", 0)) for n in nodes}
    names = {n["id"]: n["name"] for n in nodes}
    parts = [
        f'<svg class="graph" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" role="img" aria-label="{escape(title)}" '
        'xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    joined: set[str] = set()
    for e in edges:
        a, b = placed.get(e["source"]), placed.get(e["target"])
        if a is None or b is None:
            continue
        near, far = sorted((e["source"], e["target"]), key=lambda n: hops[n])
        if hops[near] < hops[far]:
            joined.add(far)
        tip = f"{names[e['source']]} {e['relation_label']} {names[e['target']]}"
        parts.append(
            f'<line class="edge" x1="{_num(a.x)}" y1="{_num(a.y)}" x2="{_num(b.x)}" y2="{_num(b.y)}">'
            f"<title>{escape(tip)}</title></line>"
        )
    centre = placed[nodes[0]["id"]]
    for n in nodes[1:]:
        if n["id"] not in joined:
            p = placed[n["id"]]
            parts.append(
                f'<line class="edge via" x1="{_num(centre.x)}" y1="{_num(centre.y)}" x2="{_num(p.x)}" y2="{_num(p.y)}">'
                f"<title>{escape(names[n['id']])}：经由未显示的节点关联</title></line>"
            )
    for i, n in enumerate(nodes):
        p = placed[n["id"]]
        tip = f"{n['kind']}：{n['name']}"
        circle = f'<circle class="node t-{escape(n["type"])}" cx="{_num(p.x)}" cy="{_num(p.y)}" '
        if n["type"] == "signal" and i:
            parts.append(f'<a href="{escape(n["href"])}">{circle}r="3"><title>{escape(tip)}</title></circle></a>')
            continue
        right = math.cos(p.angle) >= -0.01
        dx = 0 if not i else (9 if right else -9)
        anchor = "middle" if not i else ("start" if right else "end")
        dy = -13 if not i else 4
        parts.append(
            f'<a href="{escape(n["href"])}">{circle}r="{11 if not i else 6}"><title>{escape(tip)}</title></circle>'
            f'<text class="label{" centre" if not i else ""}" x="{_num(p.x + dx)}" y="{_num(p.y + dy)}" '
            f'text-anchor="{anchor}">{escape(_short(n["name"]))}</text></a>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


# ---------------------------------------------------------------------------------------------- what a node shows


def _signals_of(kg: KnowledgeGraph, nid: str, cap: int) -> list[str]:
    """Up to ``cap`` signal nodes linked to a node (the node itself for a signal)."""
    if node_type(nid) == "signal":
        return [nid]
    return list(itertools.islice((u for u in kg.graph.predecessors(nid) if node_type(u) == "signal"), cap))


def _named(kg: KnowledgeGraph, signals: Iterable[str], kinds: Sequence[str], leave_out: str) -> Counter[str]:
    """How many of these signals name each node of these types (``leave_out`` not counted)."""
    counts: Counter[str] = Counter()
    for s in signals:
        for v in kg.graph.successors(s):
            if v != leave_out and node_type(v) in kinds:
                counts[v] += 1
    return counts


def shared_hazards(kg: KnowledgeGraph, nid: str, signals: Sequence[str]) -> list[dict[str, Any]]:
    """The hazards this node's signals name (for a hazard: itself), each with the other products and enterprises
    whose signals name it too, most signals first."""
    if node_type(nid) == "hazard":
        hazards: list[tuple[str, int]] = [(nid, len(signals))]
    else:
        hazards = _named(kg, signals, ("hazard",), nid).most_common(SHARED_HAZARDS)
    out = []
    for hazard, n in hazards:
        peers = _named(kg, _signals_of(kg, hazard, MAX_SIGNALS), PEER_TYPES, nid).most_common(SHARED_PEERS)
        out.append({**describe(kg, hazard), "count": n, "peers": [{**describe(kg, p), "count": c} for p, c in peers]})
    return out


def regional_clusters(kg: KnowledgeGraph, nid: str, signals: Sequence[str]) -> list[tuple[Bar, str]]:
    """The regions the node's signals name, most signals first, as bars with their node links."""
    rows = bars(_named(kg, signals, ("region",), nid), limit=CLUSTERS)  # labelled by node id: named below
    return [(Bar(describe(kg, b.label)["name"], b.count, b.percent), graph_href(b.label)) for b in rows]


def linked_candidates(
    store: Store, db: ReviewRepository, user: User, signals: Sequence[str]
) -> list[tuple[CandidateRisk, int]]:
    """The candidates holding these signals that the user's organisation scope covers, with how many they hold,
    highest priority first."""
    ids = [s.split(":", 1)[1] for s in signals[:MAX_CANDIDATE_SIGNALS]]
    if not ids:
        return []
    wanted = set(ids)
    found = workflow.visible_candidates(store, db, user, {"signal_id": ids})
    found.sort(key=lambda c: (-c.priority, c.id))
    return [(c, len(wanted.intersection(c.signal_ids))) for c in found[:CANDIDATES]]


def _hood_context(kg: KnowledgeGraph, user: User, node: str, depth: int, types: list[str] | None, limit: int) -> Any:
    body = graph_api.node_neighbourhood(kg, user, node, depth=depth, types=types, limit=limit)  # type: ignore[arg-type]
    with kg_module.lock:
        nodes = [{**n, **describe(kg, n["id"])} for n in body["nodes"]]
        names = {n["id"]: n for n in nodes}
        edges = [
            {
                **e,
                "relation_label": label(e["relation"], "relation"),
                "from": names[e["source"]],
                "to": names[e["target"]],
            }
            for e in body["edges"]
        ]
    return body, nodes, edges


def _node_page(
    request: Request,
    store: Store,
    db: ReviewRepository,
    user: User,
    node: str,
    depth: int,
    types: list[str] | None,
    limit: int,
    chosen: list[str],
) -> Response:
    found = in_visible_graph(
        request, store, db, user, node, lambda kg: _hood_context(kg, user, node, depth, types, limit)
    )
    if isinstance(found, Response):
        return found
    kg, (body, nodes, edges) = found
    centre = body["centre"]
    with kg_module.lock:
        signals = _signals_of(kg, centre, MAX_SIGNALS)
        others = [describe(kg, n) for n in kg.resolve(node) if n != centre] if node != centre else []
        hazards = shared_hazards(kg, centre, signals)
        clusters = regional_clusters(kg, centre, signals)
        signal_total = sum(1 for u in kg.graph.predecessors(centre) if node_type(u) == "signal")
    me = nodes[0]
    context = {
        "user": user,
        "me": me,
        "api_url": "/api/v1/graph/nodes/" + quote(centre, safe=":"),
        "others": others,
        "drawing": draw_neighbourhood(nodes, edges, title=f"{me['name']}的关联图"),
        "nodes": nodes[1:],
        "edges": edges,
        "counts": {label(t, "node_type"): n for t, n in body["counts"].items()},
        "truncated": body["truncated"],
        "depth": depth,
        "limit": limit,
        "chosen": chosen,
        "type_options": {t: label(t, "node_type") for t in NODE_TYPES},
        "hazards": hazards,
        "clusters": clusters,
        "candidates": linked_candidates(store, db, user, signals),
        "signal_total": signal_total,
        "enterprise_href": enterprise_href(centre) if me["type"] == "enterprise" else None,
        "types_shown": sorted({n["type"] for n in nodes}, key=NODE_TYPES.index),
    }
    return pagekit.render(request, "graph_node.html", context)


def in_visible_graph(
    request: Request, store: Store, db: ReviewRepository, user: User, asked: str, read: Callable[[KnowledgeGraph], T]
) -> tuple[KnowledgeGraph, T] | Response:
    """The user's graph and what ``read`` (an API handler) answers from it; the Chinese 404 page when the API
    answers that ``asked`` is not there."""
    kg = visible_graph(request, store, db, user)
    try:
        return kg, read(kg)
    except ApiError as exc:
        if exc.status != 404:
            raise
        return not_found_page(request, user, kg, asked)


def not_found_page(request: Request, user: User, kg: KnowledgeGraph, asked: str) -> Response:
    """The Chinese 404 page of an entity not in the user's graph, with the entities whose names contain it."""
    with kg_module.lock:
        near = [describe(kg, m.id) for m in kg.lookup(asked, None, MAX_MATCHES)] if asked.strip() else []
    context = {"user": user, "missing": asked, "matches": near, "type_options": _search_types(), "q": asked, "kind": ""}
    return pagekit.render(request, "graph.html", context, status_code=404)


def _search_types() -> dict[str, str]:
    return {t: label(t, "node_type") for t in ENTITY_TYPES}


@router.get("/graph")
async def graph_search(
    request: Request,
    store: StoreDep,
    db: ReviewDBDep,
    user: OptionalUserDep,
    q: str | None = None,
    type_: Annotated[str | None, Query(alias="type")] = None,
) -> Response:
    """Look an entity up by (part of) its name, as GET /api/v1/graph/entities does."""
    who = page_user(request, user)
    if isinstance(who, Response):
        return who
    text = pagekit.text_param(q)
    kind = type_ if type_ in ENTITY_TYPES else None

    def search() -> list[dict[str, Any]]:
        if not text:
            return []
        kg = visible_graph(request, store, db, who)
        with kg_module.lock:
            return [{**describe(kg, m.id), "exact": m.exact} for m in kg.lookup(text, kind, MAX_MATCHES)]

    matches = await run_in_threadpool(search)
    context = {"user": who, "q": text or "", "kind": kind or "", "matches": matches, "type_options": _search_types()}
    return pagekit.render(request, "graph.html", context)


@router.get("/graph/{node:path}")
async def graph_node(
    request: Request,
    node: str,
    store: StoreDep,
    db: ReviewDBDep,
    user: OptionalUserDep,
    depth: str | None = None,
    types: Annotated[list[str] | None, Query()] = None,
    limit: str | None = None,
) -> Response:
    """One node (an id such as brand:格力, or an entity's name) and what the graph links to it."""
    who = page_user(request, user)
    if isinstance(who, Response):
        return who
    name = node.strip()[: graph_api.MAX_NAME]
    if depth is None:  # the page as first opened: the entities within two hops, without the signals between
        hops, chosen = DEFAULT_DEPTH, [t for t in ENTITY_TYPES]
    else:
        hops = max(1, min(pagekit.page_number(depth), 4))
        chosen = [t for t in types or [] if t in NODE_TYPES]
    wanted = chosen or None
    shown = max(10, min(pagekit.page_number(limit) if limit else DEFAULT_DRAWN, MAX_DRAWN))
    return await run_in_threadpool(_node_page, request, store, db, who, name, hops, wanted, shown, chosen)
