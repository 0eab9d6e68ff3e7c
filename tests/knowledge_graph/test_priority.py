"""Priority factors, suggested measures, refinement into sub-candidates and tiering with the review budget."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest

from riskmine.knowledge_graph.candidates import build_candidates, candidates_by_key
from riskmine.knowledge_graph.priority import (
    DEFAULT_WEIGHTS,
    PriorityConfig,
    attention_factor,
    circulation_factor,
    config_from_settings,
    other_departments_factor,
    scope_factor,
    suggest_measures,
    trend_factor,
)
from riskmine.schema import DispositionMeasure, HazardType, RiskLevel, SourceType, Tier
from riskmine.settings import Settings
from tests.knowledge_graph.test_candidates import NOW, make_signal, power_bank_signals, toy_signals


def test_factor_functions() -> None:
    assert trend_factor({"rising": True}) == 1.0
    assert trend_factor({"rising": False, "poisson": {"p_value": 0.01}}) == 0.5
    assert trend_factor({"rising": False, "poisson": {"p_value": 0.1}}) == pytest.approx(0.25)
    assert scope_factor(["regional", "systemic"]) == pytest.approx(2 / 3)
    assert circulation_factor([]) == 0.0
    assert circulation_factor([999]) == pytest.approx(3 / math.log10(1_000_001), abs=1e-6)
    assert attention_factor(5, 1) == 0.5  # five outlets, no copies
    assert attention_factor(0, 11) == 0.5  # one story copied ten times
    assert other_departments_factor(1) == 0.5


def test_measures_follow_level_and_scope() -> None:
    high = suggest_measures(
        risk_level=RiskLevel.high,
        immediate=False,
        scope=["industry_wide"],
        has_enterprise=True,
        source_types={"spot_check": 1},
        rising=False,
    )
    assert high[:4] == [
        DispositionMeasure.internal_bulletin,
        DispositionMeasure.spot_check,
        DispositionMeasure.enforcement_inspection,
        DispositionMeasure.consumer_advisory,
    ]
    assert {DispositionMeasure.summons, DispositionMeasure.recall_advice, DispositionMeasure.industry_warning} <= set(
        high
    )
    assert DispositionMeasure.clue_transfer in high
    low = suggest_measures(
        risk_level=RiskLevel.low, immediate=False, scope=[], has_enterprise=False, source_types={}, rising=False
    )
    assert low == []


def test_settings_fill_the_budget() -> None:
    cfg = config_from_settings(Settings(candidate_review_top_n=3, candidate_industry_min_organisations=4))
    assert (cfg.review_top_n, cfg.industry_min_organisations) == (3, 4)


def _ebike(i: int, brand: str, province: str, days: float) -> object:
    return make_signal(
        f"eb{i}",
        f"电动车电池充电时起火，第{i}起",
        category="电动自行车",
        hazards=[(HazardType.fire, "起火")],
        days_ago=days,
        brands=(brand,),
        province=province,
        source_type=SourceType.news if i % 2 else SourceType.complaint,
    )


def test_dominant_brand_gets_a_sub_candidate_and_the_parent_stays() -> None:
    signals = [_ebike(i, "飞驰", "广东省", 1 + i) for i in range(5)]
    signals += [_ebike(10 + i, b, p, 3) for i, (b, p) in enumerate([("捷安", "浙江省"), ("小鹿", "江苏省")])]
    by_key = candidates_by_key(build_candidates(signals, now=NOW))  # type: ignore[arg-type]
    parent, sub = by_key["电动自行车|fire"], by_key["电动自行车|fire|brand:飞驰"]
    assert parent.signal_count == 7 and sub.signal_count == 5
    assert sub.statistics["refinement"] == {
        "parent": "电动自行车|fire",
        "by": "brand",
        "value": "飞驰",
        "share": 0.7143,
    }
    assert "电动自行车|fire|region:广东省" in by_key
    assert "industry_wide" in parent.scope and "industry_wide" not in sub.scope
    assert parent.factors["priority_product"] == 1.0
    assert parent.statistics["causes"] == {"锂电池": 7}
    # the sub-candidate does not take a review slot while its parent holds one
    assert parent.tier == Tier.review and sub.tier == Tier.watch


def test_every_weighted_factor_is_shown_and_explained() -> None:
    candidates = build_candidates([*power_bank_signals(), *toy_signals()], now=NOW)
    for cand in candidates:
        assert set(DEFAULT_WEIGHTS) <= set(cand.factors)
        contributions = cand.statistics["priority"]["contributions"]
        assert sum(contributions.values()) == pytest.approx(cand.priority, abs=1e-3)
        stats = cand.statistics
        assert {"signal", "c2", "c2_threshold", "c3", "c3_threshold"} <= set(stats["trend"]["ears"])
        assert {"signal", "prr", "chi2_yates", "n"} <= set(stats["disproportionality"])
        assert set(stats["scope"]) == {"industry_wide", "regional", "systemic"}
        assert all("signal" in test for test in stats["scope"].values())
        assert cand.statistics["trend"]["poisson"]["alpha"] == 0.01
        assert cand.statistics["disproportionality"]["thresholds"] == {"prr": 2.0, "chi2": 4.0, "n": 3}
    toy = candidates_by_key(candidates)["玩具|choking"]
    assert toy.tier == Tier.immediate
    assert toy.due_at == toy_signals()[0].when + timedelta(hours=24)
    assert DispositionMeasure.internal_bulletin in toy.suggested_measures


def test_review_period_keeps_stale_candidates_out_of_review() -> None:
    old = [
        make_signal(
            f"old{i}", "热水器漏电", category="热水器", hazards=[(HazardType.electric_shock, "漏电")], days_ago=40 + i
        )
        for i in range(4)
    ]
    by_key = candidates_by_key(
        build_candidates([*old, *power_bank_signals()], now=NOW, config=PriorityConfig(review_period_days=14))
    )
    assert by_key["热水器|electric_shock"].tier == Tier.watch
    assert by_key["充电宝|fire"].tier == Tier.review
