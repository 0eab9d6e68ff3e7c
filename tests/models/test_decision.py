"""The served decision: thresholds per source type, the stated-hazard rule and always-risk reports."""

from __future__ import annotations

import numpy as np

from riskmine.models.base import Predictions
from riskmine.models.decision import REVIEW_FLOOR, DecisionParts, apply_decision
from riskmine.schema import HazardType as H


def preds(risk: list[float], flagged: list[bool] | None = None) -> Predictions:
    n = len(risk)
    codes = (H.fire, H.chemical)
    hazard = np.tile([0.3, 0.7], (n, 1))
    return Predictions(np.array(risk), codes, hazard, np.zeros(n), None if flagged is None else np.array(flagged))


def test_a_stated_hazard_reaches_the_review_band_whatever_the_score() -> None:
    texts = ["老爸发现外机漏电，还好没有伤到人！", "物流很快，包装完好"]
    d = apply_decision(preds([0.02, 0.02]), texts, ["review", "review"], threshold=0.3)
    assert d.flagged.tolist() == [True, False]
    assert d.preds.risk[0] >= max(REVIEW_FLOOR, 0.3) and d.preds.risk[1] == 0.02
    assert d.why[0] == "stated:live_casing"
    # the stated code is added as a column and leads the hazard set, though the model had no head for it
    assert d.preds.hazard_set(0)[0] == H.electric_shock
    assert d.stated[0][0].text == "外机漏电"


def test_rules_off_leaves_the_model_alone() -> None:
    texts = ["老爸发现外机漏电"]
    d = apply_decision(preds([0.02]), texts, ["review"], threshold=0.3, parts=DecisionParts(rules=False))
    assert not d.flagged[0] and d.preds.risk[0] == 0.02


def test_thresholds_per_source_type() -> None:
    texts = ["甲", "乙", "丙"]
    d = apply_decision(
        preds([0.2, 0.2, 0.2]), texts, ["review", "news", None], threshold=0.5, source_thresholds={"review": 0.1}
    )
    assert d.flagged.tolist() == [True, False, False]
    assert d.thresholds.tolist() == [0.1, 0.5, 0.5]
    off = apply_decision(
        preds([0.2]),
        ["甲"],
        ["review"],
        threshold=0.5,
        source_thresholds={"review": 0.1},
        parts=DecisionParts(source_thresholds=False),
    )
    assert not off.flagged[0]


def test_station_and_public_reports_are_always_kept() -> None:
    texts = ["本月抽查情况汇总", "本月抽查情况汇总", "本月抽查情况汇总"]
    d = apply_decision(preds([0.01] * 3), texts, ["station_report", "public_report", "review"], threshold=0.5)
    assert d.flagged.tolist() == [True, True, False]
    assert d.why[:2] == ["source:station_report", "source:public_report"]


def test_a_cascades_own_decisions_stand_without_source_thresholds() -> None:
    d = apply_decision(preds([0.4, 0.9], flagged=[True, False]), ["甲", "乙"], None, threshold=0.5)
    assert d.flagged.tolist() == [True, False]


def test_rules_alone() -> None:
    d = apply_decision(
        preds([0.99, 0.99]), ["外机漏电", "很好"], ["review", "review"], threshold=0.5, parts=DecisionParts(model=False)
    )
    assert d.flagged.tolist() == [True, False]
    assert d.preds.risk[1] == 0.0
