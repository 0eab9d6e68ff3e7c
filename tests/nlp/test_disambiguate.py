"""The disambiguate stage: rules, the small model, the labelled set and its accuracy."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from riskmine.nlp.base import StageContext, build_stage
from riskmine.nlp.disambiguate import (
    LABELS_PATH,
    MODEL_FILE,
    DisambiguationError,
    Disambiguator,
    evaluate,
    get_disambiguator,
    load_disambiguator,
    load_labels,
    make_disambiguate,
    train_disambiguator,
)
from riskmine.nlp.tag import make_tag
from riskmine.schema import HazardMention, HazardType, RawDocument, Signal
from riskmine.settings import Settings, get_settings
from riskmine.text.tagger import Tagger

# Real lines from /work/shared/data (see riskmine/data/disambiguation/README.md for the row ids).
# online_shopping_10_cats.csv row 36437 (热水器): the accessory 防漏电开关
HEATER_RCD = "装上了，一切都还好。防电墙有了，就是没有防漏电开关，如果有的话就更好了。价格划算。发票也有。"
# online_shopping_10_cats.csv row 12990 (平板): 还好没烧起来 is negated
CHARGER_BURST = (
    "差评啊，第一次遇到手机充电时把充电器爆了的，还好没烧起来，华为这质量很怀疑啊，才买不到两个月，希望能给个说法"
)
# fewclue_eprstmt unlabeled.json id 11976: 充电到 is not 电到
CHARGE_TO = "充电到80%和98%都会有一个十来分钟的缓慢充电阶段，原装的都不会，不知道是不是这个配件的问题"


@pytest.fixture(scope="module")
def disambiguator() -> Disambiguator:
    return train_disambiguator()


@pytest.fixture(scope="module")
def tagger() -> Tagger:
    stage = make_tag(StageContext(get_settings()), regions=False)
    assert isinstance(stage, Tagger)
    return stage


def run(tagger: Tagger, d: Disambiguator, text: str) -> list[HazardMention]:
    signal = Signal.from_document(RawDocument(source="test", source_type="review", text=text))
    return d(tagger([signal]))[0].hazards


# --------------------------------------------------------------------------- the labelled set


def test_labelled_set_is_real_large_and_split() -> None:
    mentions = load_labels()
    assert len(mentions) >= 400
    splits = Counter(m.split for m in mentions)
    assert splits["train"] >= 300 and splits["test"] >= 100
    assert {m.dataset for m in mentions} >= {"online_shopping_10_cats", "fewclue_eprstmt", "THUCNews_titles"}
    for m in mentions:
        assert m.context[m.start : m.end] == m.term
        assert m.file and m.row != ""
    for split in ("train", "test"):
        labels = Counter(m.in_sense for m in mentions if m.split == split)
        assert labels[True] > 0 and labels[False] > 0
    train_contexts = {m.context for m in mentions if m.split == "train"}
    assert not any(m.context in train_contexts for m in mentions if m.split == "test")


def test_bad_label_files_are_reported(tmp_path: Path) -> None:
    bad = tmp_path / "mentions.jsonl"
    bad.write_text('{"id": "x"}\n', encoding="utf-8")
    with pytest.raises(DisambiguationError, match="line 1: not a labelled mention"):
        load_labels(bad)
    row = {"id": "a", "term": "漏电", "hazard": "electric_shock", "context": "没有漏电", "start": 0, "end": 2}
    bad.write_text(json.dumps({**row, "in_sense": False, "split": "train"}, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(DisambiguationError, match=r"context\[0:2\] is not '漏电'"):
        load_labels(bad)
    row["start"], row["end"] = 2, 4
    bad.write_text(json.dumps({**row, "in_sense": False, "split": "dev"}, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(DisambiguationError, match="split must be train or test"):
        load_labels(bad)
    with pytest.raises(DisambiguationError, match="cannot read"):
        load_labels(tmp_path / "missing.jsonl")


# --------------------------------------------------------------------------- rules


@pytest.mark.parametrize(
    ("text", "term", "rule"),
    [
        (HEATER_RCD, "漏电", "collocation"),
        ("买了个漏电保护器装上", "漏电", "collocation"),
        ("这个插座没有漏电", "漏电", "negation"),
        ("用了半年不漏电", "漏电", "negation"),
        ("甲醛检测合格", "甲醛", "negation"),
        ("无甲醛，放心", "甲醛", "negation"),
        ("这款充电宝销量爆炸", "爆炸", "collocation"),
        ("质量弱爆了", "爆了", "collocation"),
        ("买的防蓝光膜", "蓝光", "collocation"),
        (CHARGE_TO, "电到", "collocation"),
        ("屏幕失灵，点不动", "失灵", "collocation"),
    ],
)
def test_rules_rule_out(disambiguator: Disambiguator, text: str, term: str, rule: str) -> None:
    start = text.index(term)
    verdict, confidence, how = disambiguator.judge(text, start, start + len(term), term, "other")
    assert verdict is False
    assert confidence >= 0.9
    assert how.startswith(rule)


def test_rule_can_confirm(disambiguator: Disambiguator) -> None:
    text = "下坡时刹车失灵了"
    start = text.index("失灵")
    verdict, _, how = disambiguator.judge(text, start, start + 2, "失灵", "safety_function_failure")
    assert verdict is True and how.startswith("collocation")


def test_unambiguous_terms_are_in_sense(disambiguator: Disambiguator) -> None:
    text = "热水器突然起火"
    verdict, confidence, how = disambiguator.judge(text, 5, 7, "起火", "fire")
    assert (verdict, confidence, how) == (True, 0.9, "unambiguous")


# --------------------------------------------------------------------------- the stage


def test_stage_sets_in_sense_and_confidence(tagger: Tagger, disambiguator: Disambiguator) -> None:
    hazards = run(tagger, disambiguator, CHARGER_BURST)
    assert [h.term for h in hazards] == ["爆了", "烧起来"]
    for h in hazards:
        assert h.in_sense is not None and h.confidence is not None and 0.5 <= h.confidence <= 1.0
    assert hazards[1].in_sense is False  # 还好没烧起来
    rcd = run(tagger, disambiguator, HEATER_RCD)
    assert [(h.term, h.in_sense) for h in rcd] == [("漏电", False)]


def test_hazard_codes_drop_mentions_out_of_sense(tagger: Tagger, disambiguator: Disambiguator) -> None:
    signal = Signal.from_document(RawDocument(source="t", source_type="review", text="销量爆炸，但是用了三天就起火了"))
    signal = disambiguator(tagger([signal]))[0]
    assert signal.hazard_codes == [HazardType.fire]
    assert [h.in_sense for h in signal.hazards] == [False, True]


def test_mention_that_does_not_index_the_text_is_left_unjudged(disambiguator: Disambiguator) -> None:
    doc = RawDocument(source="t", source_type="review", text="充电宝漏电")
    signal = Signal(id=doc.id, document=doc, normalized_text="充电宝漏电")
    signal.hazards = [HazardMention(start=0, end=2, text="漏电", term="漏电", hazard=HazardType.electric_shock)]
    disambiguator([signal])
    assert signal.hazards[0].in_sense is None and signal.hazards[0].confidence is None


def test_empty_batch(disambiguator: Disambiguator) -> None:
    assert disambiguator([]) == []


# --------------------------------------------------------------------------- accuracy


def test_accuracy_on_the_held_out_split(disambiguator: Disambiguator) -> None:
    scores = evaluate(LABELS_PATH, disambiguator=disambiguator)
    assert scores["n"] >= 100
    assert scores["stage"] >= 0.72
    assert scores["stage"] > scores["rules_only"] > scores["majority"]
    assert scores["model_only"] > scores["majority"] + 0.15


# --------------------------------------------------------------------------- persistence


def test_save_and_load_round_trip(tmp_path: Path, disambiguator: Disambiguator) -> None:
    path = disambiguator.save(tmp_path / MODEL_FILE)
    loaded = load_disambiguator(path)
    assert loaded is not None
    text = "充电宝充电时很烫，怕起火"
    assert loaded.judge(text, 6, 8, "很烫", "burns") == disambiguator.judge(text, 6, 8, "很烫", "burns")


def test_stale_or_damaged_model_files_are_ignored(tmp_path: Path, disambiguator: Disambiguator) -> None:
    path = disambiguator.save(tmp_path / MODEL_FILE)
    other_labels = tmp_path / "other.jsonl"
    other_labels.write_text(LABELS_PATH.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    assert load_disambiguator(path, other_labels) is None  # made from other labels
    path.write_bytes(b"not a model")
    assert load_disambiguator(path) is None
    assert load_disambiguator(tmp_path / "absent.joblib") is None


def test_factory_uses_a_saved_model_from_settings(tmp_path: Path, disambiguator: Disambiguator) -> None:
    disambiguator.save(tmp_path / MODEL_FILE)
    settings = Settings(var_dir=tmp_path, models_dir=tmp_path)
    get_disambiguator.cache_clear()
    try:
        stage = make_disambiguate(StageContext(settings=settings))
        assert isinstance(stage, Disambiguator)
        assert stage.labels_digest == disambiguator.labels_digest
    finally:
        get_disambiguator.cache_clear()


def test_factory_reports_bad_labels(tmp_path: Path) -> None:
    with pytest.raises(DisambiguationError, match="cannot read"):
        make_disambiguate(StageContext(get_settings()), labels_path=str(tmp_path / "none.jsonl"))


def test_registered_as_the_disambiguate_stage() -> None:
    bound = build_stage("disambiguate", StageContext(get_settings()))
    assert bound.name == "disambiguate" and bound.writes == ("hazards",)
