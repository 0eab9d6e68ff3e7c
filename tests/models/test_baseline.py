from __future__ import annotations

from pathlib import Path

import joblib
import numpy as np
import pytest

from riskmine.models.base import Predictions, RiskModel
from riskmine.models.baseline import BaselineConfig, BaselineRiskModel, choose_threshold, train_baseline
from riskmine.models.corpus import Corpus, InsufficientDataError, LabelledExample
from riskmine.models.features import (
    FeatureConfig,
    build_features,
    hazard_sense_tokens,
    jieba_tokens,
    product_group,
)
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


def test_the_fused_heads_give_scikit_learns_probabilities(trained: BaselineRiskModel, module_corpus: Corpus) -> None:
    from riskmine.models.baseline import _positive_proba

    texts = [e.text for e in module_corpus.dev] + [RISKY, SAFE, ""]
    preds = trained.predict(texts)
    X = trained._transform(texts)
    assert trained._fused() is not None
    assert trained.risk_head is not None and trained.harm_head is not None and preds.harm is not None
    np.testing.assert_allclose(preds.risk, _positive_proba(trained.risk_head, X), rtol=0, atol=1e-12)
    for j, head in enumerate(trained.hazard_heads):
        np.testing.assert_allclose(preds.hazard[:, j], _positive_proba(head, X), rtol=0, atol=1e-12)
    np.testing.assert_allclose(preds.harm, _positive_proba(trained.harm_head, X), rtol=0, atol=1e-12)


def test_the_fused_heads_are_not_saved_and_are_rebuilt_after_loading(
    trained: BaselineRiskModel, tmp_path: Path
) -> None:
    before = trained.predict([RISKY, SAFE])
    joblib.dump(trained, tmp_path / "m.joblib")
    loaded = joblib.load(tmp_path / "m.joblib")
    assert "_fused_heads" not in loaded.__dict__
    after = loaded.predict([RISKY, SAFE])
    np.testing.assert_array_equal(before.risk, after.risk)
    np.testing.assert_array_equal(before.hazard, after.hazard)


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


def test_hazard_sense_tokens_fire_in_hazard_sense_and_not_in_another_sense() -> None:
    fire = hazard_sense_tokens(RISKY)
    assert "in:fire" in fire and "in:any" in fire
    # the same word used as a metaphor, an accessory or under a negation is not in its hazard sense
    assert hazard_sense_tokens("这款耳机销量爆炸") == ["out:fire"]
    assert hazard_sense_tokens("带漏电保护很安全") == ["out:electric_shock"]
    assert hazard_sense_tokens("没有任何异味，孩子用着放心") == ["out:chemical"]
    assert hazard_sense_tokens("万一过敏了怎么办") == ["hyp:chemical"]
    assert hazard_sense_tokens(SAFE) == []


def test_hazard_sense_tokens_mark_asserted_and_negated_harm() -> None:
    hurt = hazard_sense_tokens("孩子手被割伤流血了")
    assert "in:injuries" in hurt and "harm:injury" in hurt
    unhurt = hazard_sense_tokens("摔了一下，没有受伤")
    assert "harm_cue:negation" in unhurt
    assert not any(t.startswith("harm:") or t.startswith("in:") for t in unhurt)


def test_hazard_sense_terms_and_product_group_tokens() -> None:
    mould = hazard_sense_tokens("今天收到的火龙果有霉斑", terms=True, group=True)
    assert {"in:microbiological", "in:霉斑", "食品|in:microbiological", "食品|in:霉斑", "group:食品"} <= set(mould)
    hotel = hazard_sense_tokens("酒店房间里有股霉味", terms=True, group=True)
    assert "group:酒店" in hotel and not any(t.startswith("食品|") for t in hotel)
    # without the options only codes and senses are emitted
    assert hazard_sense_tokens("今天收到的火龙果有霉斑") == ["in:microbiological", "in:any"]


def test_product_group_is_the_top_of_the_category_tree() -> None:
    assert product_group("充电器很烫") == "电子产品"
    assert product_group("火龙果不新鲜") == "食品"
    assert product_group("物流很快，客服态度也不错") == "物流服务"  # a service is a group too
    assert product_group("今天心情不错") is None


def test_trained_model_carries_the_hazard_sense_block(trained: BaselineRiskModel) -> None:
    assert trained.features is not None
    names = [name for name, _ in trained.features.transformer_list]
    assert names == ["char", "word", "hazard_sense"]
    sense = dict(trained.features.transformer_list)["hazard_sense"]
    column = sense.vocabulary_["in:fire"]
    X = sense.transform([RISKY, "这款插线板销量爆炸", SAFE])
    assert X[0, column] == 1 and X[1, column] == 0 and X[2, column] == 0


def test_hazard_sense_can_be_switched_off(module_corpus: Corpus) -> None:
    union = build_features(FeatureConfig(hazard_sense=False))
    assert [name for name, _ in union.transformer_list] == ["char", "word"]
    model = train_baseline(
        module_corpus.train, module_corpus.dev, BaselineConfig(features=FeatureConfig(hazard_sense=False))
    )
    assert model.score_texts([RISKY])[0] > model.threshold
    assert model.info()["config"]["features"]["hazard_sense"] is False


def test_models_saved_before_the_hazard_sense_block_still_load(trained: BaselineRiskModel, tmp_path: Path) -> None:
    # a FeatureConfig pickled before the field existed has no hazard_sense in its state
    old_state = {k: v for k, v in vars(FeatureConfig()).items() if not k.startswith("hazard_sense")}
    old = FeatureConfig.__new__(FeatureConfig)
    old.__setstate__(old_state)
    assert old.hazard_sense is False and old.char_ngrams == (1, 3)
    # and a saved model round-trips through joblib with the same scores
    joblib.dump(trained, tmp_path / "model.joblib")
    loaded = joblib.load(tmp_path / "model.joblib")
    np.testing.assert_allclose(loaded.score_texts([RISKY, SAFE]), trained.score_texts([RISKY, SAFE]))
    assert loaded.config.features == trained.config.features
