"""The scenario generator: planted stories over real background text, through the configured pipeline."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from riskmine.pipeline import Pipeline
from riskmine.scenarios import (
    REVIEWS_FILE,
    ScenarioConfig,
    ScenarioError,
    background_documents,
    planted_stories,
    run_scenario,
)
from riskmine.schema import SourceType
from riskmine.settings import Settings, shared_data_dir
from riskmine.store.base import Collection
from riskmine.store.sqlite import SQLiteStore

needs_data = pytest.mark.skipif(
    not (shared_data_dir() / REVIEWS_FILE).exists(), reason="the shared data sets are not available"
)


def test_planted_stories_have_their_shapes() -> None:
    cfg = ScenarioConfig(weeks=8)
    stories = {s.kind: s for s in planted_stories(cfg, random.Random(1))}
    rising = stories["rising_trend"]
    per_week = [sum(1 for d in rising.documents if d.source_id.startswith(f"rise-{w}-")) for w in range(8)]
    assert per_week == [0, 0, 0, 0, 1, 3, 5, 7]
    assert {d.region for d in stories["regional"].documents} == {"广东省"}
    loud = stories["loud_one_off"]
    assert len({d.source for d in loud.documents}) == len(loud.documents) == 8
    assert not loud.should_review and all(d.source_type == SourceType.complaint for d in loud.documents)


@needs_data
def test_background_is_real_text_spread_over_the_weeks() -> None:
    cfg = ScenarioConfig(weeks=4, background_per_week=50)
    docs = background_documents(cfg, random.Random(3))
    assert len(docs) == 200
    assert {d.source_type for d in docs} == {SourceType.review, SourceType.news}
    end = cfg.start.timestamp() + 4 * 7 * 86400
    assert all(cfg.start.timestamp() <= d.published_at.timestamp() < end for d in docs if d.published_at)


def test_missing_or_malformed_data_is_named(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="cannot read the review data set"):
        background_documents(ScenarioConfig(data_dir=tmp_path), random.Random(0))
    csv_path = tmp_path / REVIEWS_FILE
    csv_path.parent.mkdir(parents=True)
    csv_path.write_text("cat,label,review\n书籍,1,一本好书\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match="no usable reviews"):
        background_documents(ScenarioConfig(data_dir=tmp_path), random.Random(0))
    csv_path.write_bytes("cat,label,review\n手机,0,很差".encode("gbk"))
    with pytest.raises(ScenarioError, match="cannot read"):
        background_documents(ScenarioConfig(data_dir=tmp_path), random.Random(0))
    with pytest.raises(ScenarioError, match="at least 4 weeks"):
        run_scenario(SQLiteStore(tmp_path / "s.sqlite3"), None, ScenarioConfig(weeks=2), settings=Settings())


@needs_data
@pytest.mark.slow
def test_small_scenario_detects_the_rising_trend_not_the_loud_one_off(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "scenario.sqlite3")
    try:
        settings = Settings(var_dir=tmp_path / "var")
        pipeline = Pipeline.from_settings(settings, store)
        config = ScenarioConfig(weeks=8, background_per_week=40, step_days=7)
        report = run_scenario(store, pipeline, config, settings=settings).to_dict()
        stories = {s["kind"]: s for s in report["stories"]}
        assert stories["rising_trend"]["detected_at"] is not None
        assert stories["rising_trend"]["days_to_detection"] <= 21
        assert stories["loud_one_off"]["detected_at"] is None
        assert report["loud_one_off_in_review"] is False
        assert report["planted_found"] >= 2
        assert len(report["false_review_per_week"]) == 8
        blanket = next(c for c in store.iterate(Collection.candidates) if c.key == "电热毯|fire")
        assert blanket.statistics["trend"]["rising"] is True
        assert blanket.factors["trend"] == 1.0
    finally:
        store.close()
