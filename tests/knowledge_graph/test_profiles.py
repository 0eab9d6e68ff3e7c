"""Enterprise profiles from real demo signals: counts, spot-check failures, months, candidates."""

from __future__ import annotations

from pathlib import Path

import pytest

from riskmine.knowledge_graph.graph import GraphError, KnowledgeGraph
from riskmine.knowledge_graph.profiles import enterprise_profile, find_enterprise, list_enterprises
from riskmine.schema import CandidateRisk, HazardType
from riskmine.store.base import Collection, DuplicatePolicy
from riskmine.store.sqlite import SQLiteStore
from tests.knowledge_graph.graphkit import demo_signals


@pytest.fixture(scope="module")
def kg() -> KnowledgeGraph:
    graph = KnowledgeGraph()
    graph.add_signals(demo_signals())
    return graph


def test_profile_counts_what_the_signals_say(kg: KnowledgeGraph) -> None:
    signals = [s for s in demo_signals() if s.document.enterprise == "深圳市极充科技有限公司"]
    p = enterprise_profile(kg, "极充科技股份有限公司")  # another spelling of the same enterprise
    assert p.key == "极充科技" and p.name == "深圳市极充科技有限公司"
    assert p.region == {"id": "region:440300", "code": "440300", "name": "深圳市"}
    assert p.signals >= len(signals) > 0
    assert p.hazards["fire"] == max(p.hazards.values())
    assert p.categories == {"充电宝": p.signals}
    assert "极充" in p.brands
    assert sum(m["signals"] for m in p.monthly.values()) == p.signals
    assert list(p.monthly) == sorted(p.monthly)
    assert p.first_seen is not None and p.last_seen is not None and p.first_seen <= p.last_seen
    assert sum(p.source_types.values()) == p.signals


def test_spot_check_failures_are_counted_by_month(kg: KnowledgeGraph) -> None:
    p = enterprise_profile(kg, "开封市淇乐多食品有限公司")
    assert p.spot_check_failures >= 1
    assert sum(m["spot_check_failures"] for m in p.monthly.values()) == p.spot_check_failures
    assert p.source_types.get("spot_check", 0) >= p.spot_check_failures


def test_unknown_or_empty_enterprise_is_a_clear_error(kg: KnowledgeGraph) -> None:
    with pytest.raises(GraphError, match="no enterprise '不存在的公司'"):
        enterprise_profile(kg, "不存在的公司")
    with pytest.raises(GraphError, match="empty"):
        find_enterprise(kg, "  ")
    assert find_enterprise(kg, "enterprise:极充科技") == "enterprise:极充科技"


def test_list_enterprises_searches_and_pages(kg: KnowledgeGraph) -> None:
    items, total = list_enterprises(kg, limit=5)
    assert total == kg.stats()["nodes_by_type"]["enterprise"] and len(items) == 5
    assert [i.signals for i in items] == sorted((i.signals for i in items), reverse=True)
    found, n = list_enterprises(kg, "极充")
    assert n == 1 and found[0].key == "极充科技" and found[0].region == "深圳市"
    page2, _ = list_enterprises(kg, limit=5, offset=5)
    assert not {i.key for i in items} & {i.key for i in page2}
    assert list_enterprises(kg, "没有这家") == ([], 0)


def test_profile_with_store_reads_records_and_candidates(tmp_path: Path, kg: KnowledgeGraph) -> None:
    store = SQLiteStore(tmp_path / "s.sqlite3")
    try:
        signals = demo_signals()
        store.write(Collection.signals, signals, DuplicatePolicy.overwrite)
        mine = [s.id for s in signals if s.document.enterprise == "深圳市极充科技有限公司"]
        named = CandidateRisk(
            id="c1",
            key="充电宝|fire",
            title="充电宝起火",
            hazard=HazardType.fire,
            enterprises=["深圳市极充科技有限公司"],
            priority=0.9,
        )
        holding = CandidateRisk(id="c2", key="充电宝|burns", title="充电宝烫伤", signal_ids=mine[:2], priority=0.5)
        other = CandidateRisk(id="c3", key="雪糕|microbiological", title="雪糕菌落总数超标", priority=0.7)
        store.write(Collection.candidates, [named, holding, other])
        p = enterprise_profile(kg, "深圳市极充科技有限公司", store)
        assert [c["id"] for c in p.candidates] == ["c1", "c2"]
        assert p.candidates[1]["shared_signals"] == 2
        assert p.recent_signals and p.recent_signals[0]["published_at"] >= p.recent_signals[-1]["published_at"]
        failing = enterprise_profile(kg, "开封市淇乐多食品有限公司", store)
        assert failing.failures and failing.failures[0]["source_type"] == "spot_check"
        assert "不合格" in (failing.failures[0]["title"] or "")
    finally:
        store.close()


def test_an_enterprise_is_found_by_part_of_its_name(kg: KnowledgeGraph) -> None:
    assert find_enterprise(kg, "极充") == "enterprise:极充科技"
    assert enterprise_profile(kg, "极充").name == "深圳市极充科技有限公司"
    with pytest.raises(GraphError, match="no enterprise"):
        find_enterprise(kg, "极")  # one character names nothing
