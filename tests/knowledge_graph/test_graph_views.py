"""KnowledgeGraph.restricted: the part of the graph the signals of some sources support (issue 17, item 10)."""

from __future__ import annotations

import networkx as nx

from riskmine.knowledge_graph.graph import KnowledgeGraph, node_type
from tests.knowledge_graph.graphkit import demo_signals


def _graph() -> KnowledgeGraph:
    kg = KnowledgeGraph()
    kg.add_signals(demo_signals())
    return kg


def test_a_view_of_every_source_is_the_whole_graph() -> None:
    kg = _graph()
    view = kg.restricted(lambda source: True)
    assert view.stats() == kg.stats()
    assert set(view.graph.edges()) == set(kg.graph.edges())


def test_a_view_of_one_source_holds_its_signals_and_what_they_support() -> None:
    kg = _graph()
    own = "station:demo-testlab"
    view = kg.restricted(lambda source: source == own)
    g = view.graph
    signals = [n for n in g if node_type(n) == "signal"]
    assert signals and view.signal_count == len(signals) == len(kg.signal_ids_of(f"source:{own}"))
    assert [n for n in g if node_type(n) == "source"] == [f"source:{own}"]
    reached = set(signals).union(*(nx.descendants(g, s) for s in signals))
    for n in g:  # every node named by the data is reached from the visible signals
        if node_type(n) in ("product", "shop", "brand", "enterprise", "platform", "standard", "source"):
            assert n in reached, n
    # degrees count only the view's edges; the whole graph is unchanged and a second view is the same
    shared = next(n for n in g if node_type(n) == "hazard" and g.degree(n) and kg.graph.degree(n) > g.degree(n))
    assert g.degree(shared) == sum(1 for u in kg.graph.predecessors(shared) if u in g)
    assert kg.restricted(lambda source: source == own).stats() == view.stats()
    assert kg.stats()["signals"] > view.stats()["signals"]
    assert [m.id for m in view.lookup("demo", "source")] == [f"source:{own}"]
    assert view.resolve("source:station:demo-industry") == [] and "source:station:demo-industry" in kg
