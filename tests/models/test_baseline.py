from __future__ import annotations

import numpy as np
import pytest

from riskmine.models.base import Predictions, RiskModel
from riskmine.models.baseline import BaselineConfig, BaselineRiskModel, choose_threshold, train_baseline
from riskmine.models.corpus import Corpus, InsufficientDataError, LabelledExample
from riskmine.models.features import jieba_tokens
from riskmine.schema import HazardType

RISKY = "新买的插线板用了一周就冒烟起火，插头都烧焦了"
SAFE = "物流很快，包装完好，客服态度也不错"


def test_jieba_tokens_are_words_without_spaces() -> None:
    tokens = jieba_tokens("电热水器 漏电 ABC")
    assert "漏电" in tokens
    assert "abc" in tokens
    assert all(t.strip() for t in tokens)


def test_trained_model_implements_the_protocol_and_separates_risks(trained: BaselineRiskModel) -> None:
    assert isinstance(trained, RiskModel)
    scores = trained.score_texts([RISKY, SAFE])
    assert scores.shape == (2,)
    assert np.all((scores >= 0) & (scores <= 1))
    assert scores[0] > trained.threshold > scores[1]


def test_predict_gives_every_head_in_one_call(trained: BaselineRiskModel) -> None:
    preds = trained.predict([RISKY, SAFE, "洗澡时热水器漏电，手被电得发麻"])
    assert len(preds) == 3
    assert preds.hazard.shape == (3, len(trained.hazard_codes))
    assert preds.harm is not None and preds.harm.shape == (3,)
    assert set(trained.hazard_codes) == {
        HazardType.fire,
        HazardType.electric_shock,
        HazardType.chemical,
        HazardType.microbiological,
        HazardType.injuries,
    }
    top0, top2 = preds.top_hazard(0), preds.top_hazard(2)
    assert top0 is not None and top0[0] is HazardType.fire
    assert top2 is not None and top2[0] is HazardType.electric_shock
    np.testing.assert_allclose(preds.risk, trained.score_texts([RISKY, SAFE, "洗澡时热水器漏电，手被电得发麻"]))


def test_empty_batch_predicts_nothing(trained: BaselineRiskModel) -> None:
    preds = trained.predict([])
    assert len(preds) == 0
    assert trained.score_texts([]).shape == (0,)


def test_threshold_is_chosen_on_dev_and_recorded(trained: BaselineRiskModel, module_corpus: Corpus) -> None:
    assert 0.0 < trained.threshold < 1.0
    assert trained.threshold_note.startswith("max_f1: maximum F1")
    assert f"dev split ({len(module_corpus.dev)} texts" in trained.threshold_note
    info = trained.info()
    assert info["threshold"] == trained.threshold
    assert info["training"]["train_examples"] == len(module_corpus.train)
    assert info["libraries"]["scikit-learn"]


def test_dev_predictions_are_mostly_right(trained: BaselineRiskModel, module_corpus: Corpus) -> None:
    dev = module_corpus.dev
    flagged = trained.score_texts([e.text for e in dev]) >= trained.threshold
    gold = np.array([e.is_risk for e in dev])
    assert (flagged == gold).mean() >= 0.9


def test_too_few_risks_is_a_clear_error(module_corpus: Corpus) -> None:
    few = [e for e in module_corpus.train if not e.is_risk] + [e for e in module_corpus.train if e.is_risk][:3]
    with pytest.raises(InsufficientDataError, match=r"train split has 3 risk .*at least 5 of each"):
        train_baseline(few, module_corpus.dev)


def test_rare_hazards_are_skipped_with_a_reason_and_harm_head_needs_examples(module_corpus: Corpus) -> None:
    from dataclasses import replace

    train = list(module_corpus.train)
    # one extra risk labelled with a hazard that appears only once
    train.append(
        LabelledExample(id="x1", text="宝宝把玩具上的小零件放进嘴里，差点噎住", is_risk=True, split="train",
                        hazards=(HazardType.choking,))
    )  # fmt: skip
    no_harm = [replace(e, harm_occurred=False) for e in train]
    model = train_baseline(no_harm, module_corpus.dev)
    assert HazardType.choking not in model.hazard_codes
    assert "choking" in model.hazard_skipped
    assert "1 positive" in model.hazard_skipped["choking"]
    assert model.harm_head is None
    assert model.predict([RISKY]).harm is None
    assert model.harm_note.startswith("not trained")


def test_without_dev_the_threshold_comes_from_out_of_fold_predictions(module_corpus: Corpus) -> None:
    model = train_baseline(module_corpus.train, ())
    assert "out-of-fold train predictions" in model.threshold_note
    assert 0.0 < model.threshold < 1.0


def test_precision_constrained_threshold(module_corpus: Corpus) -> None:
    model = train_baseline(module_corpus.train, module_corpus.dev, BaselineConfig(threshold_rule="min_precision"))
    assert model.threshold_note.startswith("min_precision:")


def test_choose_threshold_max_f1_and_min_precision() -> None:
    y = np.array([0, 0, 1, 0, 1, 1])
    scores = np.array([0.1, 0.2, 0.3, 0.4, 0.8, 0.9])
    t, how = choose_threshold(y, scores, "max_f1")
    # flagging from 0.3 up takes 4 texts with all 3 risks: F1 = 6/7, the best; midway to the next lower score
    assert t == pytest.approx(0.25)
    assert "maximum F1 (0.857" in how
    t, how = choose_threshold(y, scores, "min_precision", min_precision=0.95)
    assert t == pytest.approx(0.6)
    assert "precision 1.000, recall 0.667" in how
    t, how = choose_threshold(np.array([1, 0]), np.array([0.2, 0.9]), "min_precision", min_precision=0.99)
    assert "fell back to maximum F1" in how


def test_hazard_set_is_top_code_plus_confident_codes() -> None:
    preds = Predictions(
        risk=np.array([0.9, 0.9]),
        hazard_codes=(HazardType.fire, HazardType.burns, HazardType.chemical),
        hazard=np.array([[0.2, 0.7, 0.6], [0.3, 0.1, 0.2]]),
    )
    assert preds.hazard_set(0) == [HazardType.burns, HazardType.chemical]
    assert preds.hazard_set(1) == [HazardType.fire]
    assert preds.top_hazard(1) == (HazardType.fire, pytest.approx(0.3))
    empty = Predictions(risk=np.array([0.5]), hazard_codes=(), hazard=np.zeros((1, 0)))
    assert empty.hazard_set(0) == [] and empty.top_hazard(0) is None


def test_unfitted_model_refuses_to_predict() -> None:
    with pytest.raises(RuntimeError, match="not trained"):
        BaselineRiskModel().score_texts(["漏电"])
