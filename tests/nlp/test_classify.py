from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from riskmine.models.base import Predictions
from riskmine.models.baseline import BaselineRiskModel, train_baseline
from riskmine.models.corpus import CORPUS_ENV, LabelledExample, Split
from riskmine.models.registry import ModelNotFoundError, current_version
from riskmine.nlp.base import StageContext
from riskmine.nlp.classify import ClassifyStage, make_classify, signal_text
from riskmine.schema import HazardMention, HazardType, RawDocument, Signal, SourceType
from riskmine.settings import Settings, get_settings

RISKS = [
    ("{p}充电时外壳发烫冒烟，随后起火，烧黑了桌面", HazardType.fire, True),
    ("{p}用了几天电线就烧焦了，一股塑料糊味，差点着火", HazardType.fire, False),
    ("{p}漏电，碰到金属外壳被电了一下，手到现在还麻", HazardType.electric_shock, True),
    ("{p}插头处有电火花，用手摸外壳有麻电感，担心触电", HazardType.electric_shock, False),
    ("{p}甲醛味道刺鼻，孩子用了以后咳嗽、皮肤起疹子", HazardType.chemical, True),
    ("{p}油漆味特别重，放了一个月还有异味，怀疑重金属超标", HazardType.chemical, False),
    ("{p}过期发霉，家人吃了以后腹泻呕吐", HazardType.microbiological, True),
    ("{p}开封后发现长了白毛，有变质的酸臭味", HazardType.microbiological, False),
]
RISK_PRODUCTS = ["充电宝", "电热毯", "取暖器", "电水壶", "儿童床垫", "饼干"]
SAFE = [
    "{p}发货速度很快，第二天就到了",
    "{p}包装精美，送人很有面子",
    "{p}价格实惠，比实体店便宜不少",
    "{p}颜色有色差，和图片不太一样",
    "客服回复很慢，{p}的发票到现在还没开",
    "{p}用起来还不错，就是有点重",
    "{p}是正品，防伪码查过了",
    "{p}火爆热销，库存很快就没了",
    "买{p}送的赠品很实用，好评",
    "{p}说明书只有英文，看不懂",
]
SAFE_PRODUCTS = ["手机壳", "充电宝", "电热毯", "羽绒服", "饼干", "台灯", "儿童床垫", "电水壶"]


def _corpus() -> list[LabelledExample]:
    examples: list[LabelledExample] = []
    splits: tuple[Split, ...] = ("dev", "train", "train", "train")
    for t, (template, hazard, harm) in enumerate(RISKS):
        for j, product in enumerate(RISK_PRODUCTS):
            examples.append(
                LabelledExample(
                    id=f"r{t}-{j}",
                    text=template.format(p=product),
                    is_risk=True,
                    split=splits[len(examples) % 4],
                    hazards=(hazard,),
                    harm_occurred=harm,
                )
            )
    for t, template in enumerate(SAFE):
        for j, product in enumerate(SAFE_PRODUCTS):
            examples.append(
                LabelledExample(
                    id=f"s{t}-{j}", text=template.format(p=product), is_risk=False, split=splits[len(examples) % 4]
                )
            )
    return examples


@pytest.fixture(scope="module")
def model() -> BaselineRiskModel:
    examples = _corpus()
    trained = train_baseline([e for e in examples if e.split == "train"], [e for e in examples if e.split == "dev"])
    trained.version = "test-v1"
    return trained


def _signal(text: str, *, title: str | None = None, normalized: bool = True) -> Signal:
    doc = RawDocument(source="test", source_type=SourceType.review, text=text, title=title)
    sig = Signal.from_document(doc)
    if normalized:
        sig.normalized_text = text
    return sig


def _mention(text: str, term: str, hazard: HazardType, in_sense: bool | None = None) -> HazardMention:
    start = text.index(term)
    return HazardMention(start=start, end=start + len(term), text=term, term=term, hazard=hazard, in_sense=in_sense)


def test_scores_a_batch_and_records_the_model_version(model: BaselineRiskModel) -> None:
    stage = make_classify(StageContext(get_settings(), extras={"risk_model": model}))
    batch = [_signal("新买的取暖器用了两天就冒烟起火，地板都烧黑了"), _signal("手机壳发货很快，颜色也好看")]
    out = stage(batch)
    assert out is batch
    risky, safe = out
    assert risky.is_risk and not safe.is_risk
    assert risky.risk_score > model.threshold > safe.risk_score
    assert risky.model_versions["risk"] == "risk-baseline@test-v1"
    assert safe.model_versions["risk"] == "risk-baseline@test-v1"


def test_model_hazard_is_added_only_when_the_tagger_found_none(model: BaselineRiskModel) -> None:
    stage = ClassifyStage(model)
    untagged = _signal("电热毯插上电以后有麻电感，摸着外壳被电了一下")
    text = "充电宝充电时冒烟起火，把沙发烧了"
    tagged = _signal(text)
    tagged.hazards = [_mention(text, "起火", HazardType.fire)]
    stage([untagged, tagged])

    assert untagged.is_risk
    assert untagged.hazards == []
    assert HazardType.electric_shock in untagged.predicted_hazards
    assert untagged.hazard_codes[0] is HazardType.electric_shock

    assert tagged.is_risk
    assert len(tagged.hazards) == 1
    assert tagged.hazard_codes == [HazardType.fire]  # the text's own hazard wins over the model's


def test_ruled_out_mentions_do_not_stop_the_model_hazard(model: BaselineRiskModel) -> None:
    text = "饼干过期发霉了，家人吃了以后腹泻呕吐，还好没有起火那么严重"
    sig = _signal(text)
    sig.hazards = [_mention(text, "起火", HazardType.fire, in_sense=False)]
    ClassifyStage(model)([sig])
    assert sig.is_risk
    assert sig.hazard_codes[0] is HazardType.microbiological
    assert len(sig.hazards) == 1 and sig.hazards[0].in_sense is False  # the tagger's mention is kept


def test_rerunning_replaces_earlier_model_hazards(model: BaselineRiskModel) -> None:
    stage = ClassifyStage(model)
    sig = _signal("电水壶漏电，碰到外壳被电得手发麻")
    stage([sig])
    first = list(sig.predicted_hazards)
    stage([sig])
    assert sig.predicted_hazards == first and sig.hazards == []


def test_harm_is_kept_from_the_tagger_and_added_for_risks(model: BaselineRiskModel) -> None:
    stage = ClassifyStage(model)
    harmed = _signal("电热毯漏电，碰到以后被电了一下，手到现在还麻")
    safe = _signal("台灯包装精美，送人很有面子")
    safe.harm_occurred = True  # set upstream by the tagger: never cleared here
    stage([harmed, safe])
    assert harmed.harm_occurred is True
    assert safe.harm_occurred is True


def test_threshold_option_overrides_the_model(model: BaselineRiskModel) -> None:
    sig = _signal("手机壳发货很快，颜色也好看")
    make_classify(StageContext(get_settings(), extras={"risk_model": model}), threshold=0.0)([sig])
    assert sig.is_risk
    with pytest.raises(ValueError, match=r"threshold must lie in \[0, 1\]"):
        make_classify(StageContext(get_settings(), extras={"risk_model": model}), threshold=1.5)


def test_text_falls_back_to_title_and_document_text(model: BaselineRiskModel) -> None:
    sig = _signal("用了几天电线就烧焦了，差点着火", title="取暖器质量投诉", normalized=False)
    assert signal_text(sig) == "取暖器质量投诉\n用了几天电线就烧焦了，差点着火"
    ClassifyStage(model)([sig])
    assert sig.is_risk


def test_empty_batch(model: BaselineRiskModel) -> None:
    assert ClassifyStage(model)([]) == []


def test_a_preloaded_object_that_is_not_a_model_is_refused() -> None:
    with pytest.raises(TypeError, match="not a risk model"):
        make_classify(StageContext(get_settings(), extras={"risk_model": "model.joblib"}))


def test_factory_never_trains_unless_told_to(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    corpus = tmp_path / "labels.jsonl"
    corpus.write_text(
        "".join(
            json.dumps({"id": e.id, "text": e.text, "is_risk": e.is_risk, "split": e.split,
                        "hazards": [h.value for h in e.hazards], "harm_occurred": e.harm_occurred},
                       ensure_ascii=False) + "\n"
            for e in _corpus()
        ),
        encoding="utf-8",
    )  # fmt: skip
    monkeypatch.setenv(CORPUS_ENV, str(corpus))
    settings = Settings(var_dir=tmp_path / "var", models_dir=tmp_path / "models")
    with pytest.raises(ModelNotFoundError, match="riskmine models train"):
        make_classify(StageContext(settings=settings))  # building a pipeline trains nothing by itself
    stage = make_classify(StageContext(settings=settings), train_if_missing=True)
    sig = _signal("充电宝充电时外壳发烫冒烟，随后起火")
    stage([sig])
    assert sig.is_risk
    assert sig.model_versions["risk"] == f"risk-baseline@{current_version(settings)}"


def test_registered_as_the_classify_stage() -> None:
    from riskmine.nlp.base import registered

    reg = registered()["classify"]
    assert reg.factory is make_classify
    assert reg.writes == ("is_risk", "risk_score", "predicted_hazards", "harm_occurred", "model_versions", "evidence")
    assert "normalized_text" in reg.reads


class SecondOpinion:
    """A two-stage model as a cascade builds one: the baseline scores, a second rule decides the texts it routes.

    Here the second rule is "a risk only if the text mentions 孩子" for the texts the baseline flags.
    """

    def __init__(self, baseline: BaselineRiskModel) -> None:
        self.baseline = baseline
        self.name, self.version = "second-opinion", "t1"
        self.threshold = baseline.threshold
        self.hazard_min_prob, self.harm_threshold = baseline.hazard_min_prob, baseline.harm_threshold

    def predict(self, texts: Sequence[str]) -> Predictions:
        preds = self.baseline.predict(texts)
        flagged = (preds.risk >= self.threshold) & np.array(["孩子" in t for t in texts])
        return replace(preds, flagged=flagged)

    def score_texts(self, texts: Sequence[str]) -> np.ndarray:
        return self.baseline.score_texts(texts)

    def info(self) -> dict[str, object]:
        return {"name": self.name}


def test_a_models_own_decisions_are_used_unless_a_threshold_is_given(model: BaselineRiskModel) -> None:
    # no stated hazard event (which the decision layer would flag whatever the model says): the models decide
    texts = ["孩子用的电水壶电线就烧焦了，一股塑料糊味", "电水壶用了几天电线就烧焦了，一股塑料糊味"]
    cascade = SecondOpinion(model)
    with_child, without = ClassifyStage(cascade)([_signal(t) for t in texts])
    assert with_child.is_risk and not without.is_risk
    assert without.risk_score > model.threshold  # the score stays the baseline's
    assert without.hazards == []  # not a risk: no model hazard added
    overridden = ClassifyStage(cascade, threshold=model.threshold)([_signal(t) for t in texts])
    assert all(s.is_risk for s in overridden)


def test_predictions_decisions() -> None:
    preds = Predictions(risk=np.array([0.2, 0.8]), hazard_codes=(), hazard=np.zeros((2, 0)))
    assert preds.decisions(0.5).tolist() == [False, True]
    assert replace(preds, flagged=np.array([True, False])).decisions(0.5).tolist() == [True, False]


def test_a_stated_hazard_is_flagged_whatever_the_score_with_its_evidence(model: BaselineRiskModel) -> None:
    stage = ClassifyStage(model, threshold=0.99)  # a threshold no text of this model reaches
    sig = _signal("老爸发现外机漏电，还好没有伤到人！")
    plain = _signal("发货速度很快，第二天就到了")
    stage([sig, plain])
    assert sig.is_risk and sig.risk_score >= 0.5
    assert any(span.text == "外机漏电" for span in sig.evidence)
    assert HazardType.electric_shock in sig.predicted_hazards
    assert not plain.is_risk


def test_station_and_public_reports_are_kept_as_risks(model: BaselineRiskModel) -> None:
    stage = ClassifyStage(model, threshold=0.99)
    kept = []
    for source_type in (SourceType.station_report, SourceType.public_report, SourceType.review):
        doc = RawDocument(source="test", source_type=source_type, text="本月电商平台销售情况汇总，价格稳定")
        sig = Signal.from_document(doc)
        sig.normalized_text = doc.text
        stage([sig])
        kept.append(sig.is_risk)
    assert kept == [True, True, False]


def test_thresholds_per_source_type_apply_in_the_stage(model: BaselineRiskModel) -> None:
    text = "发货速度很快，第二天就到了"
    score = float(model.score_texts([text])[0])
    saved = dict(model.source_thresholds)
    try:
        model.source_thresholds = {"news": score / 2}
        stage = ClassifyStage(model)
        news = Signal.from_document(RawDocument(source="t", source_type=SourceType.news, text=text))
        review = Signal.from_document(RawDocument(source="t", source_type=SourceType.review, text=text))
        for s in (news, review):
            s.normalized_text = text
        stage([news, review])
        assert news.is_risk and (review.is_risk == (score >= model.threshold))
    finally:
        model.source_thresholds = saved
