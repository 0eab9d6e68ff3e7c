"""The compact graph (issue 18): signal nodes in arrays answer every query as a plain networkx graph did, and
the persisted graph takes 1% updates as appended changes and reloads equal."""

from __future__ import annotations

import itertools
import tracemalloc
from pathlib import Path
from typing import Any

import networkx as nx
import pytest

import riskmine.knowledge_graph.graph as graph_module
from riskmine.knowledge_graph.compact import CompactDiGraph, CompactGraphError
from riskmine.knowledge_graph.graph import (
    KnowledgeGraph,
    current_graph,
    forget_graphs,
    graph_file,
    load_graph,
    log_file,
    persist_graph,
    save_graph,
)
from riskmine.knowledge_graph.profiles import enterprise_profile, list_enterprises
from riskmine.schema import Signal
from riskmine.settings import Settings
from tests.knowledge_graph.graphkit import demo_signals


def _plain(signals: list[Signal]) -> KnowledgeGraph:
    """The graph as it was built before: signal nodes as ordinary networkx nodes."""
    kg = KnowledgeGraph(nx.DiGraph())
    kg.add_signals(signals)
    return kg


def _compact(signals: list[Signal]) -> KnowledgeGraph:
    kg = KnowledgeGraph()
    kg.add_signals(signals)
    return kg


@pytest.fixture(scope="module")
def pair() -> tuple[KnowledgeGraph, KnowledgeGraph]:
    return _plain(demo_signals()), _compact(demo_signals())


def _content(g: nx.DiGraph) -> tuple[dict[str, dict[str, Any]], set[tuple[str, str]]]:
    return {n: dict(d) for n, d in g.nodes(data=True)}, set(g.edges())


def _same_graph(a: KnowledgeGraph, b: KnowledgeGraph) -> None:
    assert _content(a.graph) == _content(b.graph)
    assert a.stats() == b.stats()
    assert a.signal_count == b.signal_count
    assert {n: a.graph.degree(n) for n in a.graph} == {n: b.graph.degree(n) for n in b.graph}


def test_the_graph_is_compact_and_holds_what_the_plain_graph_holds(pair: tuple[KnowledgeGraph, ...]) -> None:
    plain, compact = pair
    assert isinstance(compact.graph, CompactDiGraph) and type(plain.graph) is nx.DiGraph
    _same_graph(plain, compact)
    g = compact.graph
    sid = next(n for n in g if n.startswith("signal:"))
    assert dict(g.nodes[sid]) == plain.graph.nodes[sid] and set(g.nodes[sid]) <= {
        "type",
        "when",
        "source_type",
        "risk",
        "failed",
    }
    assert dict(g[sid]) == dict(plain.graph[sid]) and list(g.predecessors(sid)) == []
    for n in ("hazard:fire", "enterprise:极充科技", "brand:极充", "region:440300", "category:充电宝"):
        assert set(g.predecessors(n)) == set(plain.graph.predecessors(n)), n
        assert set(g.successors(n)) == set(plain.graph.successors(n)), n
        assert sorted(compact.signal_ids_of(n)) == sorted(plain.signal_ids_of(n)), n
        assert all(g.has_edge(f"signal:{i}", n) and f"signal:{i}" in g.pred[n] for i in compact.signal_ids_of(n))
    assert not g.has_edge("hazard:fire", sid) and "signal:nope" not in g
    with pytest.raises(KeyError):
        g.nodes["signal:nope"]
    with pytest.raises(TypeError):  # a signal's attributes are read-only: set_signal changes them
        g.nodes[sid]["risk"] = True  # type: ignore[index]
    assert nx.DiGraph(g).number_of_edges() == plain.graph.number_of_edges()  # a plain copy, through networkx


def test_every_query_answers_as_on_the_plain_graph(pair: tuple[KnowledgeGraph, ...]) -> None:
    plain, compact = pair
    for q, kind in (("极充", None), ("深圳", "region"), ("电源", None), ("台州", None), ("fire", "hazard")):
        assert [m.to_dict() for m in compact.lookup(q, kind, limit=100)] == [
            m.to_dict() for m in plain.lookup(q, kind, limit=100)
        ], q
    for centre, depth, types in (
        ("enterprise:极充科技", 2, None),
        ("brand:极充", 2, ["hazard", "brand", "enterprise"]),
        ("hazard:fire", 1, None),
        ("region:440300", 1, ["region"]),
    ):
        a, b = plain.neighbourhood(centre, depth, types, limit=60), compact.neighbourhood(centre, depth, types, 60)
        assert a.nodes == b.nodes and a.counts == b.counts and a.truncated == b.truncated, centre
        key = lambda e: (e["source"], e["target"])  # noqa: E731
        assert sorted(a.edges, key=key) == sorted(b.edges, key=key), centre
    for u, v, n in (("brand:极充", "hazard:fire", 3), ("enterprise:极充科技", "region:440000", 4)):
        as_set = lambda paths: {tuple(tuple(sorted(s.items())) for s in p) for p in paths}  # noqa: E731
        assert as_set(compact.paths(u, v, n, limit=500)) == as_set(plain.paths(u, v, n, limit=500))
    assert compact.node("enterprise:极充科技") == plain.node("enterprise:极充科技")
    sid = next(iter(compact.signal_ids_of("enterprise:极充科技")))
    assert compact.node(f"signal:{sid}") == plain.node(f"signal:{sid}")
    # enterprise profiles and the enterprise list
    assert enterprise_profile(compact, "极充科技").to_dict() == enterprise_profile(plain, "极充科技").to_dict()
    a_list, a_total = list_enterprises(plain, limit=500)
    b_list, b_total = list_enterprises(compact, limit=500)
    assert a_total == b_total > 0 and [e.__dict__ for e in a_list] == [e.__dict__ for e in b_list]


def test_restricted_views_answer_as_on_the_plain_graph(pair: tuple[KnowledgeGraph, ...]) -> None:
    plain, compact = pair
    sources = sorted(n.split(":", 1)[1] for n, d in compact.entities() if d["type"] == "source")
    for picked in (sources[:1], sources[1:3], sources):
        a, b = plain.restricted(picked.__contains__), compact.restricted(picked.__contains__)
        assert a.stats() == b.stats(), picked
        assert _content(a.graph) == _content(b.graph), picked
        assert [m.id for m in a.lookup("极充", limit=50)] == [m.id for m in b.lookup("极充", limit=50)]
        assert sorted(n for n, _ in a.entities()) == sorted(n for n, _ in b.entities())


def test_replacing_and_removing_signals_matches_the_plain_graph() -> None:
    signals = demo_signals()[:80]
    plain, compact = _plain(signals), _compact(signals)
    changed = [s.model_copy(deep=True) for s in signals[:10]]
    for s in changed:
        s.hazards, s.regions = s.hazards[:1], []
    for kg in (plain, compact):
        kg.add_signals(changed)
        assert kg.remove_signals([signals[20].id, signals[21].id, "missing"]) == 2
    _same_graph(plain, compact)
    g = compact.graph
    assert isinstance(g, CompactDiGraph)
    with pytest.raises(CompactGraphError):
        g.add_node("signal:x")
    with pytest.raises(CompactGraphError):
        g.add_edge(f"signal:{signals[0].id}", "hazard:fire")
    named = next(n for n, _ in g.entity_items() if g.entity_signal_count(n))
    with pytest.raises(CompactGraphError):  # signals name it
        g.remove_node(named)


def test_a_persisted_graph_reloads_equal_and_takes_updates_as_appended_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    signals = demo_signals()
    path = tmp_path / "graph" / "graph.pickle"
    kg = _compact(signals[:200])
    save_graph(kg, path)
    snapshot = path.read_bytes()
    _same_graph(load_graph(path), kg)  # type: ignore[arg-type]
    kg.add_signals(signals[200:230])  # a small update: appended, the snapshot untouched
    changed = signals[5].model_copy(deep=True)
    changed.hazards = []
    kg.add_signals([changed])
    kg.remove_signals([signals[6].id])
    assert persist_graph(kg, path) == "appended"
    assert path.read_bytes() == snapshot and log_file(path).stat().st_size > 0
    reloaded = load_graph(path)
    assert reloaded is not None
    _same_graph(reloaded, kg)
    assert reloaded.version == kg.version and reloaded.signal_count == 229
    # the reloaded graph appends to the same log, and another reader sees both
    reloaded.add_signals(signals[230:240])
    assert persist_graph(reloaded, path) == "appended"
    _same_graph(load_graph(path), reloaded)  # type: ignore[arg-type]
    # the whole graph is rewritten when the log outgrows its share of the snapshot
    kg2 = load_graph(path)
    assert kg2 is not None
    kg2.add_signals(signals[240:])
    monkeypatch.setattr(graph_module, "LOG_FRACTION", 0.01)
    assert persist_graph(kg2, path) == "saved" and not log_file(path).exists()
    _same_graph(load_graph(path), kg2)  # type: ignore[arg-type]


def test_a_cut_short_or_stale_change_log_is_left_out(tmp_path: Path) -> None:
    signals = demo_signals()[:60]
    path = tmp_path / "graph.pickle"
    kg = _compact(signals[:40])
    save_graph(kg, path)
    kg.add_signals(signals[40:50])
    assert persist_graph(kg, path) == "appended"
    good = log_file(path).read_bytes()
    log_file(path).write_bytes(good + good[: len(good) // 2])  # a record cut short by a crash
    _same_graph(load_graph(path), kg)  # type: ignore[arg-type]
    other = _compact(signals[:40])
    save_graph(other, path)  # a new snapshot; a log left from the old one does not apply to it
    log_file(path).write_bytes(good)
    _same_graph(load_graph(path), other)  # type: ignore[arg-type]
    assert persist_graph(kg, path) == "saved"  # kg's snapshot is gone: saved whole


def test_current_graph_takes_changes_another_process_appended(tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path / "var")
    signals = demo_signals()[:50]
    path = graph_file(settings)
    try:
        forget_graphs()
        save_graph(_compact(signals[:30]), path)
        mine = current_graph(settings)
        assert mine.signal_count == 30
        theirs = load_graph(path)  # another process
        assert theirs is not None
        theirs.add_signals(signals[30:])
        assert persist_graph(theirs, path) == "appended"
        again = current_graph(settings)
        assert again is mine and mine.signal_count == 50
        _same_graph(mine, theirs)
    finally:
        forget_graphs()


def test_an_old_format_file_is_refused(tmp_path: Path) -> None:
    import pickle

    path = tmp_path / "graph.pickle"
    path.write_bytes(pickle.dumps({"format": 1, "graph": nx.DiGraph(), "signals": 0, "version": 0}))
    with pytest.raises(graph_module.GraphError, match="another format"):
        load_graph(path)


def _copies(n: int) -> list[Signal]:
    base = demo_signals()
    return [
        s.model_copy(update={"id": f"m{i}"})
        for i, s in zip(range(n), itertools.cycle(base), strict=False)  # same content, new ids
    ]


def _traced(build: Any) -> tuple[Any, int]:
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        out = build()
        return out, tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()


def test_signal_nodes_cost_a_fraction_of_a_plain_graph() -> None:
    signals = _copies(3000)
    empty_plain, _ = _traced(lambda: KnowledgeGraph(nx.DiGraph()))
    empty_compact, _ = _traced(KnowledgeGraph)
    _, plain = _traced(lambda: empty_plain.add_signals(signals))
    _, compact = _traced(lambda: empty_compact.add_signals(signals))
    per_plain, per_compact = plain / len(signals), compact / len(signals)
    assert per_compact < 400 and per_compact * 4 < per_plain, (per_compact, per_plain)


def test_odd_ids_and_unlabelled_nodes_survive_a_save(tmp_path: Path) -> None:
    signals = demo_signals()[:20]
    odd = [signals[0].model_copy(update={"id": "a\x00b"}), signals[1].model_copy(update={"id": "\x01"})]
    kg = _compact(signals + odd)
    g = kg.graph
    assert isinstance(g, CompactDiGraph)
    g.add_node("standard:NOLABEL")  # a node without attributes, and an edge with data
    g.add_edge("standard:NOLABEL", "hazard:fire", weight=2)
    path = tmp_path / "graph.pickle"
    save_graph(kg, path)
    loaded = load_graph(path)
    assert loaded is not None
    _same_graph(loaded, kg)
    assert "signal:a\x00b" in loaded.graph and dict(loaded.graph.nodes["standard:NOLABEL"]) == {}
    assert dict(loaded.graph["standard:NOLABEL"]["hazard:fire"]) == {"weight": 2}


def test_the_graph_pickles_with_any_protocol_and_copies() -> None:
    import copy
    import pickle

    kg = _compact(demo_signals()[:40])
    kg.remove_signals([demo_signals()[3].id])  # a removed slot: dropped when pickled
    for protocol in (4, 5):
        again = KnowledgeGraph(pickle.loads(pickle.dumps(kg.graph, protocol=protocol)), kg.signal_count, kg.version)
        _same_graph(again, kg)
    _same_graph(KnowledgeGraph(copy.deepcopy(kg.graph), kg.signal_count, kg.version), kg)
