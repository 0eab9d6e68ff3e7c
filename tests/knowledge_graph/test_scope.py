"""Scope flags (industry-wide, regional, systemic), the cause lexicon and the priority product list."""

from __future__ import annotations

from pathlib import Path

import pytest

from riskmine.knowledge_graph.scope import (
    Landscape,
    ScopeDataError,
    causes_in,
    industry_wide_test,
    load_causes,
    load_priority_products,
    priority_product_match,
)
from riskmine.schema import CandidateRisk, HazardType


def parent(
    category: str, hazard: HazardType, events: int, regions: dict[str, int], causes: dict[str, int]
) -> CandidateRisk:
    return CandidateRisk(
        id=f"c-{category}-{hazard.value}",
        key=f"{category}|{hazard.value}",
        title=category,
        product_category=category,
        hazard=hazard,
        event_count=events,
        counts_by_region=regions,
        statistics={"causes": causes},
    )


def landscape() -> Landscape:
    return Landscape.from_candidates(
        [
            parent("充电宝", HazardType.fire, 8, {"广东省": 2, "浙江省": 2, "江苏省": 2, "未知": 2}, {"锂电池": 5}),
            parent("电动自行车", HazardType.fire, 6, {"广东省": 3, "浙江省": 3}, {"锂电池": 2, "充电器/适配器": 1}),
            parent("儿童玩具", HazardType.choking, 4, {"河南省": 6}, {"小零件": 3}),
            parent("洗发水", HazardType.chemical, 12, {"广东省": 4, "江苏省": 6, "浙江省": 4}, {}),
        ]
    )


def test_cause_lexicon_finds_components_and_materials() -> None:
    assert causes_in("充电宝的电芯鼓包，充电器也很烫") == ["锂电池", "充电器/适配器"]
    assert causes_in("衣服甲醛超标") == ["甲醛"]
    assert causes_in("物流很快") == []
    assert all(c.terms for c in load_causes())


def test_priority_products_are_seeded_from_the_seeds_lists() -> None:
    names = {p.name for p in load_priority_products()}
    assert {"充电宝", "电动自行车", "水晶泥", "纸尿裤", "老年鞋", "电线电缆", "钢筋", "水泥"} <= names
    assert priority_product_match(["移动电源"]) == {
        "match": "充电宝",
        "weight": 1.0,
        "list": "山西 二.(四)1(3) 日用消费品",
    }
    assert priority_product_match(["洗发水", None])["weight"] == 0.0


def test_malformed_data_files_are_named(tmp_path: Path) -> None:
    bad = tmp_path / "causes.toml"
    bad.write_text('[[cause]]\nname = "锂电池"\nterms = []\n', encoding="utf-8")
    with pytest.raises(ScopeDataError, match=r"锂电池.*terms"):
        load_causes(bad)
    broken = tmp_path / "products.toml"
    broken.write_text("[[product]\nname=", encoding="utf-8")
    with pytest.raises(ScopeDataError, match="cannot read"):
        load_priority_products(broken)
    weight = tmp_path / "weight.toml"
    weight.write_text('[[product]]\nname = "钢筋"\nweight = 3\n', encoding="utf-8")
    with pytest.raises(ScopeDataError, match=r"product #1 .钢筋. weight"):
        load_priority_products(weight)


def test_industry_wide_counts_distinct_canonical_organisations() -> None:
    assert industry_wide_test(["极充科技", "能量方舟"], ["极充", "能量方舟", "酷电"], 3)["signal"] is True
    assert industry_wide_test(["极充科技", "极充科技"], ["极充"], 3)["signal"] is False


def test_regional_concentration_beyond_the_province_share() -> None:
    land = landscape()
    # 河南省 holds 6 of 32 known-province signals (share 0.1875); a toy candidate with 6 of 6 there:
    toy = land.regional({"河南省": 6})
    assert toy["province"] == "河南省" and toy["signal"] is True
    assert toy["p_value"] == pytest.approx((6 / 32) ** 6, abs=1e-6)
    spread = land.regional({"广东省": 2, "浙江省": 2, "江苏省": 2, "未知": 2})
    assert spread["signal"] is False
    assert land.regional({"未知": 3})["signal"] is False


def test_systemic_needs_the_same_cause_and_hazard_in_two_categories() -> None:
    land = landscape()
    result = land.systemic("fire", {"锂电池": 5}, 2)
    assert result["signal"] is True
    assert result["causes"] == {"锂电池": ["充电宝", "电动自行车"]}
    assert land.systemic("fire", {"充电器/适配器": 1}, 2)["signal"] is False
    assert land.systemic("choking", {"小零件": 3}, 2)["signal"] is False


def test_prr_from_the_landscape_event_counts() -> None:
    # 儿童玩具|choking: a=4, b=0, c=0, d=26 → PRR infinite, χ² = 30·(|104| − 15)² / (4·26·4·26)
    result = landscape().prr("儿童玩具", "choking")
    assert result["table"] == {"a": 4, "b": 0, "c": 0, "d": 26}
    assert result["chi2_yates"] == pytest.approx(30 * 89**2 / (4 * 26 * 4 * 26), abs=1e-4)
    assert result["signal"] is True
    power_bank = landscape().prr("充电宝", "fire")  # a=8, b=0, c=6 (e-bikes), d=16
    assert power_bank["prr"] == pytest.approx(1 / (6 / 22), abs=1e-4)
    assert landscape().prr("洗发水", "fire")["signal"] is False  # no fire events in that category
