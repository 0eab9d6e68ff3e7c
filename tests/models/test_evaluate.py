from __future__ import annotations

import numpy as np
import pytest
from rich.console import Console

from riskmine.models.base import Predictions
from riskmine.models.baseline import BaselineRiskModel
from riskmine.models.corpus import Corpus, InsufficientDataError, LabelledExample
from riskmine.models.evaluate import (
    evaluate_model,
    hazard_metrics,
    precision_at_k,
    reliability,
    render_evaluation,
    risk_metrics,
)
from riskmine.schema import HazardType


def test_precision_at_k_counts_true_risks_among_the_top() -> None:
    y = np.array([1, 0, 1, 0, 0])
    scores = np.array([0.9, 0.8, 0.7, 0.2, 0.1])
    assert precision_at_k(y, scores, 2) == {"k": 2, "value": 0.5}
    assert precision_at_k(y, scores, 50) == {"k": 5, "value": 0.4}


def test_reliability_bins_hold_counts_means_and_observed_rates() -> None:
    y = np.array([0, 0, 1, 1, 1])
    scores = np.array([0.05, 0.08, 0.55, 0.95, 1.0])
    bins = reliability(y, scores)
    assert [b["bin"] for b in bins] == ["0.0-0.1", "0.5-0.6", "0.9-1.0"]
    assert bins[0] == {"bin": "0.0-0.1", "count": 2, "mean_score": pytest.approx(0.065), "observed": 0.0}
    assert bins[2]["count"] == 2 and bins[2]["observed"] == 1.0


def test_risk_metrics_at_threshold() -> None:
    y = np.array([1, 1, 0, 0])
    scores = np.array([0.9, 0.4, 0.6, 0.1])
    m = risk_metrics(y, scores, threshold=0.5)
    assert m["precision"] == 0.5 and m["recall"] == 0.5 and m["support"] == 2
    assert m["non_risk"]["recall"] == 0.5
    assert m["flagged"] == 2
    assert m["average_precision"] == pytest.approx((1.0 + 2 / 3) / 2)
    assert m["brier"] == pytest.approx(np.mean((scores - y) ** 2))


def _ex(i: int, hazards: tuple[HazardType, ...], is_risk: bool = True) -> LabelledExample:
    return LabelledExample(id=str(i), text="x", is_risk=is_risk, split="dev", hazards=hazards)


def test_hazard_accuracy_is_the_share_of_true_risks_with_a_gold_code_predicted() -> None:
    codes = (HazardType.fire, HazardType.electric_shock, HazardType.chemical, HazardType.drowning)
    examples = [
        _ex(0, (HazardType.fire,)),  # top fire: hit
        _ex(1, (HazardType.electric_shock, HazardType.fire)),  # top chemical, fire ≥ 0.5 in the set: hit
        _ex(2, (HazardType.chemical,)),  # top fire only: miss
        _ex(3, (HazardType.burns,)),  # burns is not modelled: miss, not covered
        _ex(4, (), is_risk=False),  # not a risk: not counted
    ]
    hazard = np.array(
        [[0.9, 0.1, 0.1, 0.0], [0.6, 0.1, 0.8, 0.0], [0.7, 0.2, 0.3, 0.0], [0.4, 0.3, 0.2, 0.0], [0.1, 0.1, 0.1, 0.0]],
    )
    preds = Predictions(risk=np.array([0.9, 0.2, 0.9, 0.9, 0.1]), hazard_codes=codes, hazard=hazard)
    flagged = preds.risk >= 0.5
    m = hazard_metrics(examples, preds, flagged, min_prob=0.5)
    assert m["evaluated_risks"] == 4
    assert m["accuracy"] == 0.5
    assert m["accuracy_flagged"] == 0.25  # example 1 is not flagged
    assert m["top1_accuracy"] == 0.25
    assert m["coverage"] == 0.75
    assert m["meets_target"] is False
    assert m["per_code"]["burns"]["modelled"] is False
    assert m["per_code"]["fire"]["recall"] == 1.0
    assert set(m["per_code"]) == {"fire", "electric_shock", "chemical", "burns"}  # drowning: never gold nor predicted
    assert m["per_code"]["fire"]["precision"] == 0.5  # predicted for examples 0-3, gold in 0 and 1


def test_evaluate_model_reports_every_figure(trained: BaselineRiskModel, module_corpus: Corpus) -> None:
    m = evaluate_model(trained, module_corpus.dev, split="dev")
    assert m["examples"] == len(module_corpus.dev)
    assert m["risks"] == sum(e.is_risk for e in module_corpus.dev)
    assert m["risk"]["f1"] >= 0.8
    assert m["risk"]["average_precision"] >= 0.8
    assert m["hazards"]["accuracy"] >= 0.7
    assert m["harm"]["trained"] is True
    assert m["speed"]["texts_per_second"] > 0
    assert m["speed"]["threads"] == 1
    console = Console(record=True, width=140)
    render_evaluation(m, console)
    text = console.export_text()
    assert "hazard accuracy (target ≥ 0.90" in text
    assert "precision@" in text
    assert "reliability" in text


def test_empty_split_cannot_be_evaluated(trained: BaselineRiskModel) -> None:
    with pytest.raises(InsufficientDataError, match="the test split is empty"):
        evaluate_model(trained, [], split="test")
