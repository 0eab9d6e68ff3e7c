"""Enterprise profiles (企业画像): what the signals say about one enterprise, over time.

A profile gathers, for an enterprise's canonical key (see
:func:`riskmine.knowledge_graph.entities.canonical_enterprise`): its signals and risk
signals, the hazards, categories, brands, regions and source types they name,
its failed spot checks (spot-check documents whose verdict is 不合格), the candidate
risks that name it or hold its signals, and monthly counts of all of these.
Counts come from the knowledge graph; the few records shown (recent signals, failed
spot checks, candidates) are read from the store.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

import networkx as nx

from riskmine.knowledge_graph.entities import EntityError, canonical_enterprise, fold
from riskmine.knowledge_graph.graph import GraphError, KnowledgeGraph, node_id, node_type
from riskmine.schema import CandidateRisk, Signal
from riskmine.store.base import Collection, Store

RECENT_SIGNALS = 20
MAX_FAILURES = 50
MAX_CANDIDATES = 50


@dataclass
class EnterpriseSummary:
    """One enterprise in a list: its key, name, region and counts."""

    key: str
    name: str
    region: str | None
    signals: int
    risk_signals: int
    spot_check_failures: int
    last_seen: str | None


@dataclass
class EnterpriseProfile:
    """The profile of one enterprise (see the module docstring)."""

    key: str
    name: str
    node_id: str
    region: dict[str, str] | None
    signals: int
    risk_signals: int
    spot_check_failures: int
    first_seen: str | None
    last_seen: str | None
    hazards: dict[str, int]
    categories: dict[str, int]
    brands: dict[str, int]
    regions: dict[str, int]
    source_types: dict[str, int]
    monthly: dict[str, dict[str, int]]  # "2026-05" → {"signals", "risk_signals", "spot_check_failures"}
    failures: list[dict[str, Any]] = field(default_factory=list)
    recent_signals: list[dict[str, Any]] = field(default_factory=list)
    candidates: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _label(kg: KnowledgeGraph, nid: str) -> str:
    return str(kg.graph.nodes[nid].get("label", nid.split(":", 1)[1]))


def _region_of(kg: KnowledgeGraph, ent: str) -> dict[str, str] | None:
    for v in kg.graph.successors(ent):
        if node_type(v) == "region":
            return {"id": v, "code": v.split(":", 1)[1], "name": _label(kg, v)}
    return None


def find_enterprise(kg: KnowledgeGraph, name: str) -> str:
    """The enterprise node for a name, key or node id, else the best partial match (prefix before substring,
    then most connected); raises GraphError naming what was asked."""
    name = name.strip()
    if not name:
        raise GraphError("enterprise name is empty")
    if name.startswith("enterprise:") and name in kg:
        return name
    try:
        nid = node_id("enterprise", canonical_enterprise(name))
    except EntityError as exc:
        raise GraphError(str(exc)) from exc
    if nid in kg:
        return nid
    nid = node_id("enterprise", fold(name))
    if nid in kg:
        return nid
    # part of a name (极充 → 深圳市极充科技有限公司); one character names nothing
    partial = kg.lookup(name, "enterprise", limit=1) if len(fold(name)) >= 2 else []
    if partial:
        return partial[0].id
    raise GraphError(f"no enterprise {name!r} in the knowledge graph; search with GET /api/v1/enterprises?q=…")


def _signal_nodes(kg: KnowledgeGraph, ent: str) -> list[str]:
    return [u for u in kg.graph.predecessors(ent) if node_type(u) == "signal"]


def list_enterprises(
    kg: KnowledgeGraph, q: str | None = None, limit: int = 50, offset: int = 0
) -> tuple[list[EnterpriseSummary], int]:
    """Enterprises whose name or key contains ``q`` (any, without), most signals first; and their total."""
    needle = fold(q) if q else ""
    out: list[EnterpriseSummary] = []
    g = kg.graph
    for nid, data in kg.entities():  # the entity nodes, without walking a million signals
        if data.get("type") != "enterprise":
            continue
        label = str(data.get("label", ""))
        if needle and needle not in fold(label) and needle not in nid:
            continue
        sigs = [g.nodes[u] for u in _signal_nodes(kg, nid)]
        region = _region_of(kg, nid)
        out.append(
            EnterpriseSummary(
                key=nid.split(":", 1)[1],
                name=label,
                region=region["name"] if region else None,
                signals=len(sigs),
                risk_signals=sum(1 for s in sigs if s.get("risk")),
                spot_check_failures=sum(1 for s in sigs if s.get("failed")),
                last_seen=max((str(s["when"]) for s in sigs if "when" in s), default=None),
            )
        )
    out.sort(key=lambda e: (-e.signals, -e.spot_check_failures, e.key))
    return out[offset : offset + limit], len(out)


def _signal_brief(s: Signal) -> dict[str, Any]:
    d = s.document
    return {
        "signal_id": s.id,
        "title": d.title,
        "source": d.source,
        "source_type": d.source_type.value,
        "url": d.url,
        "published_at": s.when.isoformat(),
        "product": d.product,
        "is_risk": s.is_risk,
        "hazards": [h.value for h in s.hazard_codes],
    }


def _failure_brief(s: Signal) -> dict[str, Any]:
    meta = s.document.meta if isinstance(s.document.meta, dict) else {}
    out = _signal_brief(s)
    out.update({k: meta[k] for k in ("test_item", "result", "limit", "authority", "verdict") if k in meta})
    return out


def _candidate_brief(c: CandidateRisk, shared: int) -> dict[str, Any]:
    return {
        "id": c.id,
        "title": c.title,
        "tier": c.tier.value,
        "risk_level": c.grade.risk_level.value if c.grade.risk_level else None,
        "status": c.status.value,
        "priority": c.priority,
        "signal_count": c.signal_count,
        "shared_signals": shared,
        "first_seen": c.first_seen.isoformat() if c.first_seen else None,
        "last_seen": c.last_seen.isoformat() if c.last_seen else None,
    }


def _names_enterprise(c: CandidateRisk, key: str) -> bool:
    for name in c.enterprises:
        try:
            if canonical_enterprise(name) == key:
                return True
        except EntityError:
            continue
    return False


def enterprise_profile(kg: KnowledgeGraph, name: str, store: Store | None = None) -> EnterpriseProfile:
    """The profile of the enterprise ``name`` denotes; with a store, also its records (recent signals,
    failed spot checks, candidates). Raises GraphError for an unknown enterprise."""
    ent = find_enterprise(kg, name)
    key = ent.split(":", 1)[1]
    g = kg.graph
    sig_nodes = _signal_nodes(kg, ent)
    hazards: Counter[str] = Counter()
    categories: Counter[str] = Counter()
    brands: Counter[str] = Counter()
    regions: Counter[str] = Counter()
    source_types: Counter[str] = Counter()
    monthly: dict[str, Counter[str]] = {}
    failed: list[tuple[str, str]] = []
    days: list[str] = []
    for u in sig_nodes:
        data = g.nodes[u]
        day = str(data.get("when", ""))
        if day:
            days.append(day)
            month = monthly.setdefault(day[:7], Counter())
            month["signals"] += 1
            if data.get("risk"):
                month["risk_signals"] += 1
            if data.get("failed"):
                month["spot_check_failures"] += 1
        if data.get("failed"):
            failed.append((day, u.split(":", 1)[1]))
        source_types[str(data.get("source_type", "unknown"))] += 1
        for v in g.successors(u):
            kind = node_type(v)
            if kind == "hazard":
                hazards[v.split(":", 1)[1]] += 1
            elif kind == "category":
                categories[_label(kg, v)] += 1
            elif kind == "brand":
                brands[_label(kg, v)] += 1
            elif kind == "region":
                regions[_label(kg, v)] += 1
    for b in g.predecessors(ent):
        if node_type(b) == "brand":
            brands.setdefault(_label(kg, b), 0)  # owned brands, even those no signal names
    months = {
        m: {k: c.get(k, 0) for k in ("signals", "risk_signals", "spot_check_failures")} for m, c in monthly.items()
    }
    profile = EnterpriseProfile(
        key=key,
        name=_label(kg, ent),
        node_id=ent,
        region=_region_of(kg, ent),
        signals=len(sig_nodes),
        risk_signals=sum(1 for u in sig_nodes if g.nodes[u].get("risk")),
        spot_check_failures=len(failed),
        first_seen=min(days) if days else None,
        last_seen=max(days) if days else None,
        hazards=dict(hazards.most_common()),
        categories=dict(categories.most_common()),
        brands=dict(brands.most_common()),
        regions=dict(regions.most_common()),
        source_types=dict(source_types.most_common()),
        monthly=dict(sorted(months.items())),
    )
    if store is not None:
        _add_records(profile, store, sig_nodes, failed, g)
    return profile


def _add_records(
    profile: EnterpriseProfile, store: Store, sig_nodes: list[str], failed: list[tuple[str, str]], g: nx.DiGraph
) -> None:
    failed.sort(reverse=True)
    profile.failures = [
        _failure_brief(s) for s in store.get_many(Collection.signals, [i for _, i in failed[:MAX_FAILURES]])
    ]
    recent = sorted(sig_nodes, key=lambda u: (str(g.nodes[u].get("when", "")), u), reverse=True)[:RECENT_SIGNALS]
    profile.recent_signals = [
        _signal_brief(s) for s in store.get_many(Collection.signals, [u.split(":", 1)[1] for u in recent])
    ]
    ids = {u.split(":", 1)[1] for u in sig_nodes}
    found: list[tuple[CandidateRisk, int]] = []
    for c in store.iterate(Collection.candidates):
        shared = len(ids.intersection(c.signal_ids))
        if shared or _names_enterprise(c, profile.key):
            found.append((c, shared))
    found.sort(key=lambda cs: (-cs[0].priority, cs[0].id))
    profile.candidates = [_candidate_brief(c, n) for c, n in found[:MAX_CANDIDATES]]
