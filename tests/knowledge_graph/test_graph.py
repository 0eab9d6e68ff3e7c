"""The knowledge graph over real demo signals: building, entity resolution, walking, persistence, the hook."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from riskmine.knowledge_graph.entities import fold
from riskmine.knowledge_graph.graph import (
    GraphError,
    KnowledgeGraph,
    current_graph,
    forget_graphs,
    graph_file,
    load_graph,
    rebuild_graph,
    relation,
    save_graph,
    spot_check_failed,
    update_graph,
)
from riskmine.schema import EntityMention, HazardMention, HazardType, RawDocument, RegionMention, Signal, SourceType
from riskmine.settings import Settings, get_settings
from riskmine.store.base import Collection, DuplicatePolicy
from riskmine.store.sqlite import SQLiteStore
from riskmine.submission import Submission
from tests.api.apikit import SEED_DOCUMENTS, keyword_pipeline
from tests.knowledge_graph.graphkit import demo_signals


@pytest.fixture(scope="module")
def demo_graph() -> KnowledgeGraph:
    kg = KnowledgeGraph()
    kg.add_signals(demo_signals())
    return kg


def _signal(
    sid: str,
    *,
    brand: str | None = None,
    enterprise: str | None = None,
    hazards: tuple[str, ...] = ("fire",),
    text: str = "充电宝充电时起火",
    source_type: SourceType = SourceType.complaint,
    **doc: Any,
) -> Signal:
    d = RawDocument(
        id=sid,
        source="test",
        source_type=source_type,
        source_id=sid,
        text=text,
        brand=brand,
        enterprise=enterprise,
        published_at=datetime(2026, 5, 3, tzinfo=UTC),
        **doc,
    )
    s = Signal.from_document(d)
    s.product_category = "充电宝"
    s.hazards = [HazardMention(start=0, end=2, text="起火", hazard=HazardType(h), term="起火") for h in hazards]
    s.is_risk = True
    return s


def test_demo_signals_become_typed_nodes_and_edges(demo_graph: KnowledgeGraph) -> None:
    stats = demo_graph.stats()
    assert stats["signals"] == stats["nodes_by_type"]["signal"] == len(demo_signals())
    for kind in ("brand", "enterprise", "shop", "product", "category", "region", "hazard", "source"):
        assert stats["nodes_by_type"][kind] > 0, kind
    g = demo_graph.graph
    ent = "enterprise:极充科技"
    assert g.nodes[ent]["label"] == "深圳市极充科技有限公司"
    assert g.has_edge(ent, "region:440300") and relation(ent, "region:440300") == "located_in"
    assert g.has_edge("region:440300", "region:440000")  # 深圳市 → 广东省
    assert g.has_edge("brand:极充", ent) and relation("brand:极充", ent) == "owned_by"  # from the documents' hints
    assert g.has_edge("category:充电宝", "category:电子产品") or list(g.successors("category:充电宝"))
    signals_of_brand = demo_graph.signal_ids_of("brand:极充")
    assert signals_of_brand and all(g.has_edge(f"signal:{i}", "brand:极充") for i in signals_of_brand)
    assert {"about", "mentions", "from", "located_in", "parent", "owned_by"} <= set(stats["edges_by_relation"])


def test_signal_nodes_stay_light(demo_graph: KnowledgeGraph) -> None:
    sid = next(n for n in demo_graph.graph if n.startswith("signal:"))
    assert set(demo_graph.graph.nodes[sid]) <= {"type", "when", "source_type", "risk", "failed"}
    failed = [n for n, d in demo_graph.graph.nodes(data=True) if d.get("failed")]
    assert failed and all(demo_graph.graph.nodes[n]["source_type"] == "spot_check" for n in failed)


def test_brand_aliases_land_on_one_node_owned_by_its_enterprise() -> None:
    kg = KnowledgeGraph()
    kg.add_signals([_signal("a", brand="GREE"), _signal("b", brand="格力电器"), _signal("c", brand="ｇｒｅｅ")])
    assert len(kg.signal_ids_of("brand:格力")) == 3
    assert kg.graph.has_edge("brand:格力", "enterprise:格力电器")
    assert kg.graph.has_edge("enterprise:格力电器", "region:440400")  # 珠海市
    assert [m.id for m in kg.lookup("Gree")][:1] == ["brand:格力"]


def test_enterprise_spellings_and_labelled_fields_resolve() -> None:
    kg = KnowledgeGraph()
    kg.add_signals(
        [
            _signal("a", enterprise="深圳市极充科技有限公司"),
            _signal("b", enterprise="极充科技股份有限公司"),
            _signal("c", enterprise="经销商：连云港棠品食品有限公司；生产商：舟山恒冠食品有限公司"),
        ]
    )
    assert len(kg.signal_ids_of("enterprise:极充科技")) == 2
    assert kg.signal_ids_of("enterprise:恒冠食品") == ["c"] and kg.signal_ids_of("enterprise:棠品食品") == ["c"]
    assert kg.resolve("深圳极充科技有限公司") == ["enterprise:极充科技"]


def test_add_signals_is_idempotent_and_replaces_edges() -> None:
    kg = KnowledgeGraph()
    s = _signal("a", brand="极充", hazards=("fire", "burns"))
    s.regions = [RegionMention(name="杭州市", code="330100", level="city")]
    s.organisations = [EntityMention(kind="shop", name="极充官方旗舰店")]
    kg.add_signals([s])
    before = kg.stats()
    kg.add_signals([s.model_copy(deep=True)])
    assert kg.stats()["edges"] == before["edges"] and kg.signal_count == 1
    changed = s.model_copy(deep=True)
    changed.hazards = changed.hazards[:1]
    changed.regions = []
    kg.add_signals([changed])
    assert kg.graph.has_edge("signal:a", "hazard:fire")
    assert not kg.graph.has_edge("signal:a", "hazard:burns") and not kg.graph.has_edge("signal:a", "region:330100")
    assert kg.signal_count == 1
    assert kg.remove_signals(["a", "missing"]) == 1 and "signal:a" not in kg


def test_lookup_resolves_exactly_then_by_substring(demo_graph: KnowledgeGraph) -> None:
    found = demo_graph.lookup("深圳市极充科技有限公司")
    assert found[0].id == "enterprise:极充科技" and found[0].exact
    partial = demo_graph.lookup("极充", limit=50)
    assert partial[0].id == "brand:极充"
    assert {"shop", "product", "enterprise"} <= {m.type for m in partial}
    assert all(m.type == "region" for m in demo_graph.lookup("深圳", kind="region"))
    assert demo_graph.lookup("没有这个名字的东西") == []
    assert demo_graph.resolve("起火") == ["hazard:fire"] and demo_graph.resolve("fire", "hazard") == ["hazard:fire"]
    with pytest.raises(GraphError, match="unknown node type"):
        demo_graph.lookup("x", kind="person")


def test_neighbourhood_filters_types_and_caps_size(demo_graph: KnowledgeGraph) -> None:
    hood = demo_graph.neighbourhood("enterprise:极充科技", depth=2, types=["hazard", "brand"], limit=50)
    types = {n["type"] for n in hood.nodes[1:]}
    assert types <= {"hazard", "brand"} and "hazard:fire" in {n["id"] for n in hood.nodes}
    direct = demo_graph.neighbourhood("enterprise:极充科技", depth=1)
    assert direct.counts["signal"] == len(demo_graph.signal_ids_of("enterprise:极充科技"))
    assert hood.counts["signal"] > direct.counts["signal"]  # two hops also reach the brand's other signals
    capped = demo_graph.neighbourhood("hazard:fire", depth=1, limit=5)
    assert len(capped.nodes) == 6 and capped.truncated
    one = demo_graph.neighbourhood("region:440300", depth=1, types=["region"])
    assert {e["relation"] for e in one.edges} == {"parent"}
    with pytest.raises(GraphError, match="depth"):
        demo_graph.neighbourhood("hazard:fire", depth=9)
    with pytest.raises(GraphError, match="no node"):
        demo_graph.neighbourhood("brand:没有")


def test_paths_between_entities(demo_graph: KnowledgeGraph) -> None:
    paths = demo_graph.paths("brand:极充", "hazard:fire", max_len=3)
    assert paths and all(len(p) == 3 for p in paths)
    assert paths[0][1]["type"] == "signal" and paths[0][1]["direction"] == "in"
    assert paths[0][2]["relation"] == "mentions"
    assert demo_graph.paths("brand:极充", "region:440000", max_len=1) == []  # two hops away at least
    with pytest.raises(GraphError):
        demo_graph.paths("brand:极充", "brand:没有")


def test_save_and_load_round_trip_atomically(tmp_path: Path, demo_graph: KnowledgeGraph) -> None:
    path = tmp_path / "graph" / "graph.pickle"
    save_graph(demo_graph, path)
    loaded = load_graph(path)
    assert loaded is not None and loaded.stats() == demo_graph.stats()
    assert [p.name for p in path.parent.iterdir()] == ["graph.pickle"]
    assert load_graph(tmp_path / "none.pickle") is None
    path.write_bytes(b"not a pickle")
    with pytest.raises(GraphError, match=r"unreadable.*riskmine graph build"):
        load_graph(path)


def test_rebuild_from_the_store_matches_incremental_build(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.sqlite3")
    try:
        signals = demo_signals()[:120]
        store.write(Collection.signals, signals, DuplicatePolicy.overwrite)
        seen: list[int] = []
        rebuilt = rebuild_graph(store, batch_size=50, progress=seen.append)
        direct = KnowledgeGraph()
        direct.add_signals(signals)
        assert sum(seen) == 120
        assert rebuilt.stats()["nodes_by_type"] == direct.stats()["nodes_by_type"]
        assert rebuilt.stats()["edges"] == direct.stats()["edges"]
    finally:
        store.close()


def test_each_submission_updates_the_persisted_graph(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.sqlite3")
    try:
        forget_graphs()
        store.write(Collection.documents, SEED_DOCUMENTS)
        Submission(store, keyword_pipeline(), settings=get_settings()).process([d.id for d in SEED_DOCUMENTS[:4]])
        path = graph_file(get_settings())
        assert path.is_file()
        assert load_graph(path).signal_count == 4  # type: ignore[union-attr]
        Submission(store, keyword_pipeline(), settings=get_settings()).process([d.id for d in SEED_DOCUMENTS[4:]])
        kg = load_graph(path)
        assert kg is not None and kg.signal_count == len(SEED_DOCUMENTS)
        assert len(kg.signal_ids_of("category:充电宝")) == 3
    finally:
        store.close()
        forget_graphs()


def test_graph_update_can_be_switched_off_and_catches_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = SQLiteStore(tmp_path / "s.sqlite3")
    try:
        forget_graphs()
        monkeypatch.setenv("RISKMINE_GRAPH_UPDATE", "false")
        get_settings.cache_clear()
        store.write(Collection.documents, SEED_DOCUMENTS)
        Submission(store, keyword_pipeline(), settings=get_settings()).process([d.id for d in SEED_DOCUMENTS[:3]])
        assert not graph_file(get_settings()).exists()
        monkeypatch.setenv("RISKMINE_GRAPH_UPDATE", "true")
        get_settings.cache_clear()
        Submission(store, keyword_pipeline(), settings=get_settings()).process([d.id for d in SEED_DOCUMENTS[3:]])
        kg = load_graph(graph_file(get_settings()))
        assert kg is not None and kg.signal_count == len(SEED_DOCUMENTS)  # the missed three caught up
    finally:
        store.close()
        forget_graphs()


def test_current_graph_follows_the_store_and_other_processes(tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path / "var")
    store = SQLiteStore(tmp_path / "s.sqlite3")
    try:
        forget_graphs()
        store.write(Collection.signals, demo_signals()[:30])
        kg = current_graph(settings, store)
        assert kg.signal_count == 30 and graph_file(settings).is_file()
        other = KnowledgeGraph()
        other.add_signals(demo_signals()[:5])
        save_graph(other, graph_file(settings))
        os.utime(graph_file(settings), ns=(1, 1))  # another process saved: a different modification time
        assert current_graph(settings).signal_count == 5
        assert update_graph(store, [], settings) == 0
    finally:
        store.close()
        forget_graphs()


def test_spot_check_verdicts() -> None:
    fail = _signal("f", source_type=SourceType.spot_check, text="经检验，菌落总数项目不合格。")
    passed = _signal("p", source_type=SourceType.spot_check, text="菌落总数 不合格样品复检", meta={"verdict": "合格"})
    review = _signal("r", text="质量不合格")
    assert spot_check_failed(fail) and not spot_check_failed(passed) and not spot_check_failed(review)


def test_the_persisted_graph_holds_no_phone_number_or_e_mail_address(tmp_path: Path) -> None:
    """Personal data is masked at ingest, so no node or edge of graph.pickle carries it, whatever field it came in."""
    phone, email, card = "13812345678", "zhang.san@example.com", "6217001234567893"
    settings = Settings(var_dir=tmp_path / "var")
    row = {
        "source_id": "pii1",
        "text": f"这个充电宝充电时起火了，客服电话{phone}，邮箱{email}",
        "product": f"充电宝 {phone}",
        "shop": f"小王数码 {email}",
        "brand": f"某牌{phone}",
        "enterprise": f"杭州某电子有限公司 {phone}",
        "meta": {"buyer": {"phone": phone, "mail": email, "card": card}},
    }
    # the same fields as a ready document (as the public report form and scenarios submit them)
    ready = RawDocument(source="public", source_type=SourceType.public_report, **{**row, "source_id": "pii2"})
    store = SQLiteStore(tmp_path / "s.sqlite3")
    try:
        forget_graphs()
        submission = Submission(store, keyword_pipeline(), settings=settings)
        assert submission.rows([row], source="jd", source_type="review").processed == 1
        assert submission.documents([ready]).processed == 1
        path = graph_file(settings)
        kg = load_graph(path)
        assert kg is not None and kg.signal_count == 2
        seen = [repr((n, attrs)) for n, attrs in kg.graph.nodes(data=True)]
        seen += [repr((u, v, attrs)) for u, v, attrs in kg.graph.edges(data=True)]
        for raw in (phone, email, card, "zhang.san"):
            assert not [s for s in seen if raw in s], raw
            assert raw.encode() not in path.read_bytes()
    finally:
        store.close()
        forget_graphs()


def test_lookup_takes_partial_names_ranked_exact_prefix_substring(demo_graph: KnowledgeGraph) -> None:
    found = demo_graph.lookup("极充", kind="enterprise")
    assert [m.id for m in found] == ["enterprise:极充科技"] and not found[0].exact  # part of 深圳市极充科技有限公司
    ranked = demo_graph.lookup("极充", limit=50)
    assert ranked[0].id == "brand:极充" and ranked[0].exact
    seen: set[int] = set()
    for q in ("极充", "电源", "台州"):
        found = demo_graph.lookup(q, limit=100)

        def rank(m: Any, q: str = q) -> int:
            names = (fold(m.label), m.id.split(":", 1)[1])
            return 0 if m.exact else 1 if any(n.startswith(fold(q)) for n in names) else 2

        ranks = [rank(m) for m in found]
        assert ranks == sorted(ranks), (q, ranks)  # exact, then prefix, then substring
        seen.update(ranks)
    assert seen == {0, 1, 2}
    assert len(demo_graph.lookup("市", limit=5)) == 5  # bounded


@pytest.mark.parametrize("name", ["浙江省台州市", "浙江台州", "台州市", "台州"])
def test_lookup_finds_a_city_by_its_full_or_short_name(demo_graph: KnowledgeGraph, name: str) -> None:
    found = demo_graph.lookup(name)
    assert found[0].id == "region:331000" and found[0].exact and found[0].label == "台州市"
    assert demo_graph.resolve(name, "region") == ["region:331000"]


def test_lookup_of_a_region_chain_checks_each_level(demo_graph: KnowledgeGraph) -> None:
    assert demo_graph.resolve("浙江省台州市椒江区", "region") == ["region:331002"]
    assert demo_graph.resolve("江苏省台州市", "region") == []  # 台州 is not in 江苏
    assert demo_graph.resolve("广东省深圳市", "region") == ["region:440300"]


def test_neighbourhood_lists_entities_before_signals(demo_graph: KnowledgeGraph) -> None:
    hood = demo_graph.neighbourhood("brand:极充", depth=2, limit=30)
    types = [n["type"] for n in hood.nodes[1:]]
    assert hood.truncated and "signal" not in types and {"hazard", "population", "enterprise"} <= set(types)
    wide = demo_graph.neighbourhood("enterprise:极充科技", depth=1, limit=100)
    kinds = [n["type"] == "signal" for n in wide.nodes[1:]]
    assert kinds == sorted(kinds) and any(kinds) and not all(kinds)
