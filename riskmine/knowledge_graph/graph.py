"""The product knowledge graph: signals linked to the products, brands, enterprises, shops,
regions, hazards, standards, populations, categories and sources they name.

A :class:`KnowledgeGraph` wraps a networkx ``DiGraph``. Node ids are ``"<type>:<key>"``
where the key is canonical (see :mod:`riskmine.knowledge_graph.entities`), so every
spelling of an entity lands on one node: ``brand:格力``, ``enterprise:极充科技``,
``region:440300``, ``category:充电宝``, ``hazard:fire``, ``signal:<id>``.

Edges carry no attributes: an edge's relation follows from the types of its ends
(:data:`RELATIONS`), which keeps a million signals affordable. Signal nodes are light:
their date, source type, risk flag and, for failed spot checks, a failure flag; the graph is a
:class:`~riskmine.knowledge_graph.compact.CompactDiGraph`, which keeps them in arrays (a few
hundred bytes a signal) while networkx reads them as ordinary nodes.

Structure added up front: the category tree (``categories.tsv``), the administrative
tree (province → city → county, from the division table) and every hazard and
population code. :meth:`KnowledgeGraph.add_signals` is idempotent: re-adding a signal
replaces its edges. The graph is persisted under ``<var_dir>/graph/graph.pickle``
(written atomically), with the changes made since appended to ``graph.pickle.log`` (rewritten
whole only when the log outgrows a quarter of the snapshot), loaded once per process, and
rebuilt from the store with :func:`rebuild_graph`.
"""

from __future__ import annotations

import itertools
import logging
import os
import pickle
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

import networkx as nx

from riskmine.knowledge_graph.compact import FAILED, RISK, CompactDiGraph, CompactGraphError
from riskmine.knowledge_graph.entities import (
    EntityError,
    brand_owner,
    canonical_brand,
    canonical_model,
    canonical_shop,
    display_name,
    fold,
    is_null_name,
    parse_enterprise,
    region_divisions,
    split_enterprises,
)
from riskmine.schema import HazardType, Population, Signal, SourceType
from riskmine.schema.errors import RiskmineError
from riskmine.settings import Settings
from riskmine.store.base import Collection, Store
from riskmine.text.gazetteer import Division, get_gazetteer
from riskmine.text.lexicon import get_lexicons

log = logging.getLogger("riskmine.graph")

FORMAT_VERSION = 2  # 2: a CompactDiGraph, and the changes since appended to <file>.log

NodeType = Literal[
    "category",
    "product",
    "brand",
    "enterprise",
    "shop",
    "platform",
    "region",
    "hazard",
    "standard",
    "population",
    "signal",
    "source",
]
NODE_TYPES: tuple[str, ...] = get_args(NodeType)
ENTITY_TYPES = tuple(t for t in NODE_TYPES if t != "signal")

# The relation of an edge, by the types of its (from, to) ends.
RELATIONS: dict[tuple[str, str], str] = {
    ("signal", "category"): "about",
    ("signal", "product"): "about",
    ("signal", "hazard"): "mentions",
    ("signal", "brand"): "mentions",
    ("signal", "enterprise"): "mentions",
    ("signal", "shop"): "mentions",
    ("signal", "platform"): "mentions",
    ("signal", "standard"): "cites",
    ("signal", "population"): "affects",
    ("signal", "region"): "located_in",
    ("signal", "source"): "from",
    ("category", "category"): "parent",
    ("region", "region"): "parent",
    ("brand", "enterprise"): "owned_by",
    ("enterprise", "region"): "located_in",
    ("product", "brand"): "of_brand",
    ("product", "category"): "in_category",
}

# Verdict words of a failed spot check (判定 column; the demo corpus says it in the text).
SPOT_CHECK_FAIL = "不合格"


# Edges a document establishes (its product's brand and category, its brand's maker): a restricted view keeps
# them only where one of its signals names both ends (see KnowledgeGraph.restricted).
NAMED_EDGES = frozenset({("product", "brand"), ("product", "category"), ("brand", "enterprise")})

# Restricted views remembered per graph (one per distinct set of visible sources); more are recomputed.
MAX_VIEWS = 64


def _structural(data: dict[str, Any]) -> bool:
    """A node of the structure added up front: a hazard or population code, a category of the taxonomy
    (it has a code), a division of the administrative tree (it has a level)."""
    kind = data.get("type")
    return (
        kind in ("hazard", "population")
        or (kind == "category" and "code" in data)
        or (kind == "region" and "level" in data)
    )


class GraphError(RiskmineError, ValueError):
    """A graph request that cannot be answered: unknown node, bad parameter, unreadable file."""

    code = "graph_invalid"
    status = 500


def node_type(node_id: str) -> str:
    return node_id.split(":", 1)[0]


def node_id(kind: str, key: str) -> str:
    return f"{kind}:{key}"


def relation(u: str, v: str) -> str:
    """The relation of the edge u → v (from the types of its ends)."""
    return RELATIONS.get((node_type(u), node_type(v)), "related")


def _day(signal: Signal) -> str:
    return sys.intern(signal.when.date().isoformat())


def spot_check_failed(signal: Signal) -> bool:
    """A spot-check document whose verdict is 不合格 (meta 'verdict' from the form, else the title or text)."""
    doc = signal.document
    if doc.source_type is not SourceType.spot_check:
        return False
    verdict = doc.meta.get("verdict") if isinstance(doc.meta, dict) else None
    if isinstance(verdict, str) and verdict.strip():
        return SPOT_CHECK_FAIL in verdict
    return SPOT_CHECK_FAIL in (doc.title or "") or SPOT_CHECK_FAIL in doc.text


@dataclass
class Match:
    """One entity found by :meth:`KnowledgeGraph.lookup`."""

    id: str
    type: str
    label: str
    degree: int
    exact: bool

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "type": self.type, "label": self.label, "degree": self.degree, "exact": self.exact}


@dataclass
class Neighbourhood:
    """Nodes within k hops of a centre, and the edges among them."""

    centre: str
    nodes: list[dict[str, Any]]
    edges: list[dict[str, str]]
    counts: dict[str, int]  # every node reached, by type (also those filtered out or past the cap)
    truncated: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "centre": self.centre,
            "nodes": self.nodes,
            "edges": self.edges,
            "counts": self.counts,
            "truncated": self.truncated,
        }


@dataclass
class KnowledgeGraph:
    """The graph and its indexes (labels by folded text, node ids by type)."""

    graph: nx.DiGraph = field(default_factory=CompactDiGraph)
    signal_count: int = 0
    version: int = 0  # bumped by every change
    # the snapshot this graph was saved to or loaded from, and how much of its change log it holds
    _base: str | None = field(default=None, init=False, repr=False, compare=False)
    _log_pos: int = field(default=0, init=False, repr=False, compare=False)
    # restricted views' nodes and kept named edges (see restricted), by visible source nodes, with their version
    _views: dict[frozenset[str], tuple[int, frozenset[str], frozenset[tuple[str, str]]]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _sources: tuple[int, tuple[str, ...]] = field(default=(-1, ()), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.graph.number_of_nodes() == 0 and not nx.is_frozen(self.graph):
            self._add_structure()

    # ------------------------------------------------------------------ building

    def _add_node(self, kind: str, key: str, label: str | None = None, **attrs: Any) -> str:
        nid = node_id(kind, key)
        if nid not in self.graph:
            self.graph.add_node(nid, type=kind, label=label or key, **attrs)
        return nid

    def _add_structure(self) -> None:
        taxonomy = get_lexicons().taxonomy
        for cat in taxonomy:
            self._add_node("category", cat.name, code=cat.code)
        for cat in taxonomy:
            if cat.parent and cat.parent in taxonomy.by_code:
                self.graph.add_edge(
                    node_id("category", cat.name), node_id("category", taxonomy.by_code[cat.parent].name)
                )
        gazetteer = get_gazetteer()
        for div in gazetteer.by_code.values():
            self._add_region(div)
        for hazard in HazardType:
            self._add_node("hazard", hazard.value)
        for population in Population:
            self._add_node("population", population.value)

    def _add_region(self, div: Division) -> str:
        nid = node_id("region", div.code)
        if nid in self.graph:
            return nid
        self.graph.add_node(nid, type="region", label=div.name, level=div.level)
        gazetteer = get_gazetteer()
        parent = gazetteer.city(div) if div.level == "county" else None
        if parent is None and div.level != "province":
            parent = gazetteer.province(div)
        if parent is not None and parent.code != div.code:
            self.graph.add_edge(nid, self._add_region(parent))
        return nid

    def _region_node(self, code: str | None, name: str) -> str | None:
        if not code:
            return None
        div = get_gazetteer().by_code.get(code[:6])
        if div is not None:
            return self._add_region(div)
        return self._add_node("region", code, label=name)

    def _category_node(self, name: str) -> str:
        nid = node_id("category", name)
        if nid not in self.graph:
            cat = get_lexicons().taxonomy.lookup(name)
            if cat is not None:
                return node_id("category", cat.name)
            self._add_node("category", name)
        return nid

    def _brand_node(self, name: str) -> str | None:
        try:
            key = canonical_brand(name)
        except EntityError:
            return None
        nid = node_id("brand", key)
        if nid not in self.graph:
            self._add_node("brand", key, label=display_name("brand", name))
            owner = brand_owner(name)
            if owner:
                ent = self._enterprise_node(owner)
                if ent:
                    self.graph.add_edge(nid, ent)
        return nid

    def _enterprise_node(self, name: str) -> str | None:
        try:
            parsed = parse_enterprise(name)
        except EntityError:
            return None
        nid = node_id("enterprise", parsed.key)
        if nid not in self.graph:
            self._add_node("enterprise", parsed.key, label=parsed.full)
        if parsed.region is not None:  # every region its spellings name (the same key in two regions shows both)
            self.graph.add_edge(nid, self._add_region(parsed.region))
        return nid

    def _entity_node(self, kind: str, name: str) -> str | None:
        if is_null_name(name):
            return None
        if kind == "brand":
            return self._brand_node(name)
        if kind == "enterprise":
            return self._enterprise_node(name)
        try:
            if kind in ("shop", "platform"):
                if kind == "platform":
                    return self._add_node("platform", canonical_brand(name), label=display_name("platform", name))
                return self._add_node("shop", canonical_shop(name), label=display_name("shop", name))
            if kind == "product":
                return self._add_node("product", canonical_model(name), label=display_name("product", name))
        except EntityError:
            return None
        return None

    def _signal_targets(self, s: Signal) -> tuple[set[str], list[tuple[str, str]]]:
        """The nodes a signal links to, and structural edges its document hints establish."""
        doc = s.document
        targets: set[str] = set()
        structural: list[tuple[str, str]] = []

        def add(nid: str | None) -> str | None:
            if nid is not None:
                targets.add(nid)
            return nid

        category = add(self._category_node(s.product_category)) if s.product_category else None
        for hazard in s.hazard_codes:
            add(node_id("hazard", hazard.value))
        for population in s.populations:
            add(node_id("population", population.value))
        for standard in s.standards:
            add(self._add_node("standard", fold(standard).upper().replace(" ", ""), label=standard))
        for region in s.regions:
            add(self._region_node(region.code, region.name))
        add(self._add_node("source", doc.source, source_type=doc.source_type.value))
        for org in s.organisations:
            add(self._entity_node(org.kind, org.name))
        brand = add(self._entity_node("brand", doc.brand)) if doc.brand else None
        enterprises = [add(self._entity_node("enterprise", n)) for n in split_enterprises(doc.enterprise or "")]
        if doc.shop:
            add(self._entity_node("shop", doc.shop))
        product = add(self._entity_node("product", doc.product)) if doc.product else None
        if brand and enterprises and enterprises[0]:
            structural.append((brand, enterprises[0]))  # the document names the brand's maker
        if product and brand:
            structural.append((product, brand))
        if product and category:
            structural.append((product, category))
        return targets, structural

    def _compact(self) -> CompactDiGraph | None:
        """The graph when it is a CompactDiGraph one can change (not a view of one)."""
        g = self.graph
        return g if isinstance(g, CompactDiGraph) and g._is_base() else None

    def add_signals(self, signals: Iterable[Signal]) -> int:
        """Add or replace signals (re-adding one replaces its edges); returns how many were added."""
        n = 0
        g = self.graph
        compact = self._compact()
        for s in signals:
            if compact is not None:
                flags = (RISK if s.is_risk else 0) | (FAILED if spot_check_failed(s) else 0)
                targets, structural = self._signal_targets(s)
                day = s.when.date().toordinal()
                if compact.set_signal(s.id, day, s.document.source_type.value, flags, targets):
                    self.signal_count += 1
                compact.add_edges_from(structural)
                n += 1
                continue
            sid = node_id("signal", s.id)
            if sid in g:
                g.remove_edges_from(list(g.out_edges(sid)))
                g.nodes[sid].clear()
            else:
                self.signal_count += 1
                g.add_node(sid)
            attrs = g.nodes[sid]
            attrs.update(type="signal", when=_day(s), source_type=sys.intern(s.document.source_type.value))
            if s.is_risk:
                attrs["risk"] = True
            if spot_check_failed(s):
                attrs["failed"] = True
            targets, structural = self._signal_targets(s)
            g.add_edges_from((sid, t) for t in targets)
            g.add_edges_from(structural)
            n += 1
        if n:
            self.version += 1
        return n

    def remove_signals(self, signal_ids: Iterable[str]) -> int:
        n = 0
        compact = self._compact()
        for sid in signal_ids:
            nid = node_id("signal", sid)
            if compact is not None:
                if compact.remove_signal(sid):
                    self.signal_count -= 1
                    n += 1
            elif nid in self.graph:
                self.graph.remove_node(nid)
                self.signal_count -= 1
                n += 1
        if n:
            self.version += 1
        return n

    # ------------------------------------------------------------------ restricted views

    def restricted(self, sees: Callable[[str], bool]) -> KnowledgeGraph:
        """A read-only view of the part of the graph the signals of the sources ``sees`` accepts support.

        Left out: source nodes ``sees`` refuses (it is given the source, e.g. ``station:甲站``), the signals from
        them, every node reachable only through those signals (a shop, product, brand, enterprise only they
        name) and the edges only their documents establish (a product's brand or category, a brand's maker,
        unless the alias file knows the owner). Kept: the visible signals, what they name and what that leads
        to (an enterprise's region, regions and categories up their trees), and the structure added up front
        (category tree, administrative tree, hazard and population codes). Edges, degrees and counts are
        those of the view. The view follows no later change: take a new one per request, under :data:`lock`."""
        g = self.graph
        if self._sources[0] != self.version:
            self._sources = (self.version, tuple(n for n, data in self.entities() if data.get("type") == "source"))
        visible_sources = frozenset(n for n in self._sources[1] if sees(n.split(":", 1)[1]))
        cached = self._views.get(visible_sources)
        if cached is None or cached[0] != self.version:
            cached = (self.version, *self._visible_part(visible_sources))
            if len(self._views) >= MAX_VIEWS:
                self._views.clear()
            self._views[visible_sources] = cached
        _, nodes, named = cached

        def edge(u: str, v: str) -> bool:
            return (node_type(u), node_type(v)) not in NAMED_EDGES or (u, v) in named

        view = nx.subgraph_view(g, filter_node=nodes.__contains__, filter_edge=edge)
        signals = sum(1 for n in nodes if node_type(n) == "signal")
        return KnowledgeGraph(view, signals, self.version)

    def _visible_part(self, sources: frozenset[str]) -> tuple[frozenset[str], frozenset[tuple[str, str]]]:
        """The nodes of the view of these source nodes, and the document-established edges it keeps."""
        g = self.graph
        keep = {n for n, data in self.entities() if _structural(data)}
        named: set[tuple[str, str]] = set()
        stack: list[str] = []
        for signal in (u for s in sources for u in g.predecessors(s) if node_type(u) == "signal"):
            keep.add(signal)
            targets = list(g.successors(signal))
            named.update((u, v) for u in targets for v in targets if (node_type(u), node_type(v)) in NAMED_EDGES)
            stack.extend(targets)
        visited: set[str] = set()
        while stack:
            u = stack.pop()
            if u in visited:
                continue
            visited.add(u)
            keep.add(u)
            for v in g.successors(u):
                if (node_type(u), node_type(v)) in NAMED_EDGES and (u, v) not in named:
                    if not (node_type(u) == "brand" and self._owns(v, u)):
                        continue
                    named.add((u, v))
                stack.append(v)
        return frozenset(keep), frozenset(named)

    def _owns(self, enterprise: str, brand: str) -> bool:
        """Whether the alias file names this enterprise the brand's owner (an edge no document established)."""
        owner = brand_owner(str(self.graph.nodes[brand].get("label", brand.split(":", 1)[1])))
        if not owner:
            return False
        try:
            return node_id("enterprise", parse_enterprise(owner).key) == enterprise
        except EntityError:
            return False

    # ------------------------------------------------------------------ reading

    def __contains__(self, nid: object) -> bool:
        return isinstance(nid, str) and nid in self.graph

    def entities(self) -> Iterator[tuple[str, Any]]:
        """(node id, attributes) of every node that is not a signal; on a CompactDiGraph (or a view of one)
        without walking the signals."""
        g = self.graph
        base = g.__dict__.get("_graph", g)  # a restricted view's graph
        if isinstance(base, CompactDiGraph) and base._is_base():
            ok = None if base is g else g.__dict__.get("_NODE_OK")
            for n, data in base.entity_items():
                if ok is None or ok(n):
                    yield n, data
            return
        for n, data in g.nodes(data=True):
            if data.get("type") != "signal":
                yield n, data

    def node(self, nid: str) -> dict[str, Any]:
        """A node's id, type, label and degree; raises GraphError for an unknown id."""
        if nid not in self.graph:
            raise GraphError(f"no node {nid!r} in the graph; look it up first (GET /api/v1/graph/entities?q=…)")
        return self._describe(nid)

    def _describe(self, nid: str) -> dict[str, Any]:
        data = self.graph.nodes[nid]
        out = {"id": nid, "type": data.get("type", node_type(nid)), "label": data.get("label", nid.split(":", 1)[1])}
        out.update({k: v for k, v in data.items() if k not in ("type", "label")})
        out["degree"] = self.graph.degree(nid)
        return out

    def signal_ids_of(self, nid: str) -> list[str]:
        """Ids of the signals linked to a node (signal nodes only point outwards)."""
        return [u.split(":", 1)[1] for u in self.graph.predecessors(nid) if u.startswith("signal:")]

    def resolve(self, name: str, kind: str | None = None) -> list[str]:
        """Node ids that ``name`` denotes exactly, through entity resolution (most specific types first)."""
        name = name.strip()
        if not name:
            return []
        kinds = [kind] if kind else list(ENTITY_TYPES)
        out: list[str] = []
        if ":" in name and name in self.graph and (kind is None or node_type(name) == kind):
            out.append(name)
        for k in kinds:
            for nid in self._candidates(k, name):
                if nid in self.graph and nid not in out:
                    out.append(nid)
        return out

    def _candidates(self, kind: str, name: str) -> list[str]:
        try:
            if kind in ("brand", "platform"):
                return [node_id(kind, canonical_brand(name))]
            if kind == "enterprise":
                return [node_id(kind, parse_enterprise(name).key)]
            if kind == "shop":
                return [node_id(kind, canonical_shop(name))]
            if kind == "product":
                return [node_id(kind, canonical_model(name))]
        except EntityError:
            return []
        if kind == "category":
            cat = get_lexicons().taxonomy.lookup(name)
            return [node_id(kind, cat.name if cat else name)]
        if kind == "region":
            return [node_id(kind, d.code) for d in region_divisions(name)]
        if kind == "hazard":  # a code (fire) or a hazard term of the lexicon (起火, 漏电)
            term = get_lexicons().hazards.get(name)
            return [node_id(kind, term.hazard.value if term else name)]
        if kind == "population":  # a code (children) or a term (儿童, 老人)
            population = get_lexicons().populations.get(name)
            return [node_id(kind, population.value if population else name)]
        if kind in ("source", "signal"):
            return [node_id(kind, name)]
        if kind == "standard":
            return [node_id(kind, fold(name).upper().replace(" ", ""))]
        return []

    def lookup(self, q: str, kind: str | None = None, limit: int = 20) -> list[Match]:
        """Entities named ``q``, at most ``limit``: exact resolutions first (浙江省台州市 is the city), then
        nodes whose name starts with it, then those whose name contains it (极充 finds 深圳市极充科技有限公司),
        each group by degree."""
        if kind is not None and kind not in NODE_TYPES:
            raise GraphError(f"unknown node type {kind!r}; known: {', '.join(NODE_TYPES)}")
        rank: dict[str, int] = {nid: 0 for nid in self.resolve(q, kind)}  # 0 exact, 1 prefix, 2 substring
        needle = fold(q)
        if needle:
            for nid, data in self.entities():
                t = data.get("type")
                if t == "signal" or (kind and t != kind) or nid in rank:
                    continue
                names = (fold(str(data.get("label", ""))), nid.split(":", 1)[1])
                if any(n.startswith(needle) for n in names):
                    rank[nid] = 1
                elif any(needle in n for n in names):
                    rank[nid] = 2
        matches = [
            Match(nid, node_type(nid), str(self.graph.nodes[nid].get("label", nid)), self.graph.degree(nid), r == 0)
            for nid, r in rank.items()
        ]
        matches.sort(key=lambda m: (rank[m.id], -m.degree, m.id))
        return matches[:limit]

    def neighbourhood(
        self, centre: str, depth: int = 1, types: Sequence[str] | None = None, limit: int = 100
    ) -> Neighbourhood:
        """Nodes within ``depth`` hops (either direction), of the given types, at most ``limit`` of them, entities
        before signals and nearest first; the walk passes through nodes of other types without listing them."""
        if centre not in self.graph:
            raise GraphError(f"no node {centre!r} in the graph")
        if depth < 1 or depth > 4:
            raise GraphError(f"depth must be 1 to 4, got {depth}")
        if limit < 1:
            raise GraphError(f"limit must be at least 1, got {limit}")
        unknown = [t for t in types or () if t not in NODE_TYPES]
        if unknown:
            raise GraphError(f"unknown node type(s) {', '.join(unknown)}; known: {', '.join(NODE_TYPES)}")
        wanted = set(types) if types else None
        g = self.graph
        seen: dict[str, int] = {centre: 0}
        queue: deque[str] = deque([centre])
        budget = max(limit * 50, 10_000)  # nodes visited at most: a hub (食品, fire) must not walk the whole graph
        truncated = False
        while queue:
            u = queue.popleft()
            if seen[u] >= depth:
                continue
            for v in itertools.chain(g.successors(u), g.predecessors(u)):
                if v in seen:
                    continue
                if len(seen) >= budget:
                    truncated = True
                    queue.clear()
                    break
                seen[v] = seen[u] + 1
                queue.append(v)
        counts = Counter(node_type(n) for n in seen if n != centre)
        listed = [n for n in seen if n != centre and (wanted is None or node_type(n) in wanted)]
        # entities before signals (a hub's signals must not crowd its brands and hazards out), nearest first
        listed.sort(key=lambda n: (node_type(n) == "signal", seen[n], -g.degree(n), n))
        if len(listed) > limit:
            truncated = True
            listed = listed[:limit]
        keep = {centre, *listed}
        nodes = [{**self._describe(n), "hops": seen[n]} for n in [centre, *listed]]
        edges = [
            {"source": u, "target": v, "relation": relation(u, v)} for u in keep for v in g.successors(u) if v in keep
        ]
        return Neighbourhood(centre, nodes, edges, dict(sorted(counts.items())), truncated)

    def paths(self, source: str, target: str, max_len: int = 4, limit: int = 10) -> list[list[dict[str, Any]]]:
        """Shortest paths (either edge direction) between two nodes, at most ``max_len`` edges and ``limit`` paths."""
        for nid in (source, target):
            if nid not in self.graph:
                raise GraphError(f"no node {nid!r} in the graph")
        if max_len < 1 or max_len > 8:
            raise GraphError(f"max_len must be 1 to 8, got {max_len}")
        undirected = self.graph.to_undirected(as_view=True)
        try:
            found = list(itertools.islice(nx.all_shortest_paths(undirected, source, target), limit))
        except nx.NetworkXNoPath:
            return []
        out = []
        for p in found:
            if len(p) - 1 > max_len:
                return []
            steps: list[dict[str, Any]] = []
            for i, nid in enumerate(p):
                step = {"id": nid, "type": node_type(nid), "label": self.graph.nodes[nid].get("label", nid)}
                if i:
                    prev = p[i - 1]
                    forward = self.graph.has_edge(prev, nid)
                    step["relation"] = relation(prev, nid) if forward else relation(nid, prev)
                    step["direction"] = "out" if forward else "in"
                steps.append(step)
            out.append(steps)
        return out

    def stats(self) -> dict[str, Any]:
        """Counts of nodes by type and edges by relation."""
        nodes: Counter[str] = Counter()
        edges: Counter[str] = Counter()
        compact = self._compact()
        if compact is not None:  # the signals' edges counted per entity, not walked
            nodes.update(node_type(n) for n in compact.entity_ids())
            if compact.signal_total:
                nodes["signal"] = compact.signal_total
            for u, v in compact.entity_edges():
                edges[relation(u, v)] += 1
            for v, count in compact.signal_edge_counts():
                if count:
                    edges[RELATIONS.get(("signal", node_type(v)), "related")] += count
        else:
            nodes.update(node_type(n) for n in self.graph)
            for u, v in self.graph.edges():
                edges[relation(u, v)] += 1
        return {
            "nodes": self.graph.number_of_nodes(),
            "edges": self.graph.number_of_edges(),
            "signals": self.signal_count,
            "nodes_by_type": dict(sorted(nodes.items())),
            "edges_by_relation": dict(sorted(edges.items())),
            "version": self.version,
        }


# --------------------------------------------------------------------------- persistence


def graph_file(settings: Settings) -> Path:
    """Where the graph is persisted: RISKMINE_GRAPH_PATH, else <var_dir>/graph/graph.pickle."""
    return settings.graph_path or settings.var_dir / "graph" / "graph.pickle"


# The change log beside the snapshot may grow to this fraction of the snapshot's size before the snapshot is
# rewritten: appending a 1% update of a million signals takes a fraction of a second, a full save seconds.
LOG_FRACTION = 0.25


def log_file(path: Path) -> Path:
    """The change log beside the snapshot ``path``: the changes made since it was written, appended."""
    return path.with_name(path.name + ".log")


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def save_graph(kg: KnowledgeGraph, path: Path) -> None:
    """Write the whole graph atomically (a temporary file beside it, then a rename) and drop the change log.

    The file holds a small header (format, signal count, version, a token naming this snapshot), then the
    graph; later changes can be appended to the change log (:func:`persist_graph`)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    base = uuid.uuid4().hex
    fd, tmp = tempfile.mkstemp(prefix=".graph-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            header = {"format": FORMAT_VERSION, "signals": kg.signal_count, "version": kg.version, "base": base}
            pickle.dump(header, fh, protocol=pickle.HIGHEST_PROTOCOL)
            pickle.dump(kg.graph, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    log_file(path).unlink(missing_ok=True)
    kg._base, kg._log_pos = base, 0
    compact = kg._compact()
    if compact is not None:
        compact.journal = []  # from now on, changes are recorded for the change log


def _header(path: Path) -> dict[str, Any] | None:
    """The header of the snapshot at ``path`` (None when there is none or it is not one of this format)."""
    try:
        with path.open("rb") as fh:
            header = pickle.load(fh)  # our own file, written by save_graph under the var dir
    except Exception:
        return None
    return header if isinstance(header, dict) and header.get("format") == FORMAT_VERSION else None


def append_changes(kg: KnowledgeGraph, path: Path) -> bool:
    """Append the changes made to ``kg`` since it was saved, loaded or last appended to the change log of the
    snapshot at ``path``. False (nothing written) when they cannot be: the graph is not a CompactDiGraph, or the
    snapshot there is not the one it came from (none yet, or another process rewrote it); save it whole then."""
    compact = kg._compact()
    if compact is None or compact.journal is None or kg._base is None:
        return False
    header = _header(path)
    if header is None or header.get("base") != kg._base:
        return False
    if not compact.journal:
        return True
    record = pickle.dumps((kg._base, kg.version, kg.signal_count, compact.journal), protocol=pickle.HIGHEST_PROTOCOL)
    with log_file(path).open("ab") as fh:
        start = os.fstat(fh.fileno()).st_size
        fh.write(record)
    if start == kg._log_pos:  # nobody appended in between: what we hold ends where our record does
        kg._log_pos = start + len(record)
    compact.journal = []
    return True


def persist_graph(kg: KnowledgeGraph, path: Path) -> str:
    """Bring the persisted graph up to date with ``kg``: append its changes to the change log, or write it
    whole when they cannot be appended or the log has grown past LOG_FRACTION of the snapshot.
    Returns "appended" or "saved"."""
    if append_changes(kg, path) and _size(log_file(path)) <= LOG_FRACTION * _size(path):
        return "appended"
    save_graph(kg, path)
    return "saved"


def _replay_log(kg: KnowledgeGraph, path: Path) -> None:
    """Apply the records of the change log that ``kg`` does not hold yet (those of its snapshot only)."""
    compact = kg._compact()
    if compact is None or kg._base is None or _size(log_file(path)) <= kg._log_pos:
        return
    try:
        fh = log_file(path).open("rb")
    except FileNotFoundError:
        return
    pending, compact.journal = compact.journal, None  # replayed changes are in the log already
    try:
        with fh:
            fh.seek(kg._log_pos)
            while True:
                try:
                    base, version, _signals, ops = pickle.load(fh)
                except EOFError:
                    break
                except Exception as exc:  # a record being written, or cut short by a crash: stop before it
                    log.warning("change log %s unreadable at byte %d (%s)", log_file(path), kg._log_pos, exc)
                    break
                if base != kg._base:  # a log left from an older snapshot
                    break
                compact.apply(ops)
                kg.signal_count = compact.signal_total
                kg.version = max(kg.version + 1, int(version))
                kg._log_pos = fh.tell()
    finally:
        compact.journal = pending


def load_graph(path: Path) -> KnowledgeGraph | None:
    """The graph saved at ``path`` (a file this application wrote) with its change log applied, or None when
    there is none.

    Raises GraphError for a file that is not a graph of this format (rebuild it: ``riskmine graph build``)."""
    if not path.is_file():
        return None
    try:
        with path.open("rb") as fh:
            header = pickle.load(fh)  # our own file, written by save_graph under the var dir
            if not isinstance(header, dict) or header.get("format") != FORMAT_VERSION:
                raise GraphError(f"graph file {path} has another format; rebuild it: riskmine graph build")
            graph = pickle.load(fh)
    except GraphError:
        raise
    except Exception as exc:
        raise GraphError(
            f"graph file {path} is unreadable ({type(exc).__name__}); rebuild: riskmine graph build"
        ) from exc
    if not isinstance(graph, nx.DiGraph):
        raise GraphError(f"graph file {path} has another format; rebuild it: riskmine graph build")
    kg = KnowledgeGraph(graph, int(header.get("signals", 0)), int(header.get("version", 0)))
    kg._base = header.get("base")
    compact = kg._compact()
    if compact is not None:
        compact.journal = []
    try:
        _replay_log(kg, path)
    except (CompactGraphError, KeyError, TypeError, IndexError) as exc:
        raise GraphError(
            f"the change log of graph file {path} does not apply ({type(exc).__name__}); rebuild: riskmine graph build"
        ) from exc
    return kg


def rebuild_graph(
    store: Store, *, batch_size: int = 1000, progress: Callable[[int], None] | None = None
) -> KnowledgeGraph:
    """A new graph from every signal in the store."""
    kg = KnowledgeGraph()
    batch: list[Signal] = []
    for s in store.iterate(Collection.signals, batch_size=batch_size):
        batch.append(s)
        if len(batch) >= batch_size:
            kg.add_signals(batch)
            if progress:
                progress(len(batch))
            batch.clear()
    if batch:
        kg.add_signals(batch)
        if progress:
            progress(len(batch))
    return kg


# --------------------------------------------------------------------------- the process's graph


@dataclass
class _Cached:
    graph: KnowledgeGraph
    mtime: float | None


_cache: dict[Path, _Cached] = {}
lock = threading.RLock()  # held while the process's graph is read or changed


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime_ns / 1e9
    except FileNotFoundError:
        return None


def current_graph(settings: Settings, store: Store | None = None) -> KnowledgeGraph:
    """The process's graph for these settings: loaded once, reloaded when another process saved a newer one,
    and, given a store whose signal count differs from the graph's, rebuilt from it and saved."""
    path = graph_file(settings)
    with lock:
        cached = _cache.get(path)
        mtime = _mtime(path)
        if cached is None or (mtime is not None and mtime != cached.mtime):
            try:
                loaded = load_graph(path)
            except GraphError as exc:
                if store is None:
                    raise
                log.warning("%s; rebuilding from the store", exc)
                loaded = None
            cached = _Cached(loaded or KnowledgeGraph(), mtime)
            _cache[path] = cached
        else:  # the same snapshot: take the changes other processes appended to its log
            try:
                _replay_log(cached.graph, path)
            except (CompactGraphError, KeyError, TypeError, IndexError) as exc:
                log.warning("the graph's change log does not apply (%s); rereading %s", exc, path)
                cached.mtime = None
                _cache.pop(path, None)
                return current_graph(settings, store)
        if store is not None and store.count(Collection.signals) != cached.graph.signal_count:
            t0 = time.perf_counter()
            cached.graph = rebuild_graph(store)
            save_graph(cached.graph, path)
            cached.mtime = _mtime(path)
            log.info(
                "graph rebuilt from the store: %d signals in %.1f s",
                cached.graph.signal_count,
                time.perf_counter() - t0,
            )
        return cached.graph


def forget_graphs() -> None:
    """Drop the process's loaded graphs (the next use loads them again)."""
    with lock:
        _cache.clear()


def update_graph(store: Store, signal_ids: Sequence[str], settings: Settings, *, catch_up: bool = True) -> int:
    """Add the stored signals with these ids to the persisted graph and persist the change (appended to the
    change log, see :func:`persist_graph`); the processing hook.

    ``catch_up`` False: the caller passes every signal the graph lacks (the queue workers: their own refresh's and
    the other hosts' since their last, riskmine.queue.PendingRefresh), so a store holding more signals (processed,
    not refreshed yet) is no reason to rebuild.

    Does nothing when RISKMINE_GRAPH_UPDATE is off. The graph is derived data: a failure is
    logged (with the command that rebuilds it) and never fails the processing that called it.
    Returns the number of signals added."""
    if not settings.graph_update or not signal_ids:
        return 0
    path = graph_file(settings)
    try:
        with lock:
            try:
                kg = current_graph(settings)
            except GraphError as exc:
                log.warning("%s; starting a new graph", exc)
                kg = KnowledgeGraph()
                _cache[path] = _Cached(kg, None)
            n = 0
            for i in range(0, len(signal_ids), 1000):
                n += kg.add_signals(store.get_many(Collection.signals, list(signal_ids[i : i + 1000])))
            if catch_up and kg.signal_count != store.count(Collection.signals):
                kg = rebuild_graph(store)  # the graph missed signals stored while it was off: catch up once
                _cache[path].graph = kg
                save_graph(kg, path)
            else:
                persist_graph(kg, path)  # the changes appended to the log; the whole graph only now and then
            _cache[path].mtime = _mtime(path)
    except Exception:
        log.exception("the knowledge graph at %s was not updated; rebuild it with: riskmine graph build", path)
        return 0
    return n


def iter_signal_nodes(kg: KnowledgeGraph, ids: Iterable[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(signal id, node attributes) of the given signal ids that are in the graph."""
    for sid in ids:
        nid = node_id("signal", sid)
        if nid in kg.graph:
            yield sid, kg.graph.nodes[nid]
