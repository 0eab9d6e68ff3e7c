from __future__ import annotations

import csv
import random
import time
from pathlib import Path

import pytest

from riskmine.nlp.base import StageContext
from riskmine.nlp.denoise import (
    _LONG_REPEAT_RE,
    _SHORT_REPEAT_RE,
    ADVERTISING,
    CONTENT_FREE,
    SPAM_REPETITION,
    TEMPLATE,
    NoisePatterns,
    NoisePatternsError,
    Verdict,
    assess,
    assess_batch,
    collapse_repetition,
    load_patterns,
    make_denoise,
    repetition_gates,
)
from riskmine.nlp.normalize import make_normalize
from riskmine.schema import RawDocument, Signal
from riskmine.settings import get_settings, shared_data_dir
from riskmine.text.normalize import normalize_text

# Real texts, copied with their provenance (data set, file line; fewclue: unlabeled.json id).
REAL = {
    # online_shopping_10_cats/online_shopping_10_cats.csv
    "leak": (  # 12811
        "华为P9 在充电时，金属后背漏电，有麻麻的感觉 以申请退货 现在京东不咋地啊 客服不说话 打电话没人接 服了"
    ),
    "formaldehyde": "服装制作过程中甲醛含量超标，气味很大，熏得头疼",  # 44756
    "explode": (  # 13321
        "质量相当差，非常水！才用一两个月，充电差点导致爆炸，充电器及手机插口都烧坏烧黑了，以后再也不敢买华为了！"
    ),
    "spam": "好好好好好好好好好好好",  # 4240
    "spam_laugh": "哈哈哈哈哈哈哈哈哈哈哈哈太好了",  # 4307
    "short": "挺值",  # 20
    "jd_template": (  # 26774
        "我为什么喜欢在京东买东西，因为今天买明天就可以送到。我为什么每个商品的评价都一样，因为在京东买的东西太多太多了，"
        "导致积累了很多未评价的订单，所以我统一用段话作为评价内容。"
    ),
    "qq_coupons": "用起来还不错，本人还有几张2000-100 1000-50 东券要的加qq 673946022",  # 51426
    "cashback_complaint": (  # 11682
        "不好 ，连个好评返现都不给， 别人店里还送保护套 耳机 什么的 ，买的平板电脑连纸质发票都没有。"
    ),
    # waimai_10k/waimai_10k.csv line 3
    "repeat_complaint": "没有送水没有送水没有送水",
    # fewclue_eprstmt/unlabeled.json id 1
    "empty_box": "送过来时是一个简陋的塑料袋包装，回家拆开才发现盒子竟然是空的！！！",
}


@pytest.fixture(scope="module")
def patterns() -> NoisePatterns:
    return load_patterns()


def judge(text: str, patterns: NoisePatterns) -> Verdict:
    return assess(normalize_text(text), patterns)


@pytest.mark.parametrize(
    "text",
    [
        "此用户未填写评价内容",
        "系统默认好评",
        "用户未及时评价，系统默认好评！",
        "该用户觉得商品较好，默认给出好评",
        REAL["jd_template"],
    ],
)
def test_template_reviews_are_dropped(text: str, patterns: NoisePatterns) -> None:
    v = judge(text, patterns)
    assert v.reasons == [TEMPLATE]
    assert v.weight == 0.0


def test_template_beside_real_content_is_only_down_weighted(patterns: NoisePatterns) -> None:
    v = judge("结果味道不错，我两岁女儿一天一个。" + REAL["jd_template"], patterns)
    assert v.reasons == [TEMPLATE]
    assert 0.0 < v.weight < 1.0


@pytest.mark.parametrize(
    "text",
    ["好评返现5元，加微信 abc12345 领取", "点击领券 http://t.cn/A6abc", "晒图好评返现，联系客服领红包"],
)
def test_advertising_is_flagged(text: str, patterns: NoisePatterns) -> None:
    v = judge(text, patterns)
    assert ADVERTISING in v.reasons
    assert v.weight == 0.0


def test_real_coupon_ad_is_flagged_and_down_weighted(patterns: NoisePatterns) -> None:
    v = judge(REAL["qq_coupons"], patterns)
    assert v.reasons == [ADVERTISING]
    assert v.weight < 1.0


def test_complaint_quoting_cash_back_is_not_advertising(patterns: NoisePatterns) -> None:
    assert judge(REAL["cashback_complaint"], patterns).reasons == []


def test_safety_report_quoting_cash_back_keeps_full_weight(patterns: NoisePatterns) -> None:
    v = judge("好评返现，充电宝用了两天就鼓包了", patterns)
    assert v.reasons == [ADVERTISING]
    assert v.weight == 1.0


@pytest.mark.parametrize("text", [REAL["spam"], "哈哈哈哈哈哈", "不错不错不错不错不错不错", "好，好，好，好，好"])
def test_repetition_spam_without_content_is_dropped(text: str, patterns: NoisePatterns) -> None:
    v = judge(text, patterns)
    assert SPAM_REPETITION in v.reasons
    assert CONTENT_FREE in v.reasons
    assert v.weight == 0.0


def test_repeated_complaint_is_spam_but_kept(patterns: NoisePatterns) -> None:
    v = judge(REAL["repeat_complaint"], patterns)
    assert v.reasons == [SPAM_REPETITION]
    assert 0.0 < v.weight < 1.0


def test_some_repetition_inside_a_real_review_is_not_spam(patterns: NoisePatterns) -> None:
    assert judge("噪音太大，200块钱打水漂啦啦啦啦啦！", patterns).reasons == []
    assert judge("花了10000元买的，质量很差", patterns).reasons == []  # repeated digits are numbers


def test_repeated_hazard_report_keeps_full_weight(patterns: NoisePatterns) -> None:
    v = judge("充电器冒烟了冒烟了冒烟了冒烟了", patterns)
    assert v.reasons == [SPAM_REPETITION]
    assert v.weight == 1.0


def test_collapse_repetition_counts_what_it_removes() -> None:
    assert collapse_repetition("不错不错不错") == ("不错", 4)
    assert collapse_repetition("充电宝用了两天就很烫充电宝用了两天就很烫") == ("充电宝用了两天就很烫", 10)
    assert collapse_repetition("很好很好") == ("很好很好", 0)  # a short phrase said twice is emphasis
    assert collapse_repetition("100000") == ("100000", 0)


@pytest.mark.parametrize(
    "text", ["好", "不错", REAL["short"], "？？？？", "👍👍👍", "。。。", "12345", "ok", "非常满意！！"]
)
def test_content_free_texts_are_dropped(text: str, patterns: NoisePatterns) -> None:
    v = judge(text, patterns)
    assert v.reasons == [CONTENT_FREE]
    assert v.weight == 0.0


@pytest.mark.parametrize("text", ["冒烟了", "漏电", "起火", "烫伤", "过敏", "鼓包了！", "有甲醛味"])
def test_short_hazard_texts_are_meaningful(text: str, patterns: NoisePatterns) -> None:
    v = judge(text, patterns)
    assert v.reasons == []
    assert v.weight == 1.0


@pytest.mark.parametrize("text", ["掉色，冒牌！", "都烂了…………", "不干净。", "屏幕有划痕", "坏了"])
def test_short_quality_complaints_are_not_content_free(text: str, patterns: NoisePatterns) -> None:
    assert judge(text, patterns).reasons == []


@pytest.mark.parametrize("key", ["leak", "formaldehyde", "explode", "empty_box"])
def test_real_safety_and_quality_reports_are_clean(key: str, patterns: NoisePatterns) -> None:
    v = judge(REAL[key], patterns)
    assert v.reasons == []
    assert v.weight == 1.0


def test_traditional_and_full_width_text_is_judged_after_normalization(patterns: NoisePatterns) -> None:
    assert judge("此用戶未填寫評價內容", patterns).reasons == [TEMPLATE]
    assert judge("這個充電寶會冒煙", patterns).reasons == []


def test_long_text_is_fast(patterns: NoisePatterns) -> None:
    text = normalize_text(REAL["explode"] * 2000)  # ~100k characters, one phrase repeated
    t0 = time.perf_counter()
    v = assess(text, patterns)
    assert time.perf_counter() - t0 < 3.0
    assert SPAM_REPETITION in v.reasons
    assert v.weight == 1.0  # repeated, but it is a fire report


def test_stage_flags_but_never_removes(patterns: NoisePatterns) -> None:
    docs = [RawDocument(source="t", source_type="review", text=t) for t in (REAL["leak"], REAL["spam"], "系统默认好评")]
    batch = [Signal.from_document(d) for d in docs]
    out = make_denoise(StageContext(get_settings()))(make_normalize(StageContext(get_settings()))(batch))
    assert [s.id for s in out] == [d.id for d in docs]
    assert [s.noise for s in out] == [[], [SPAM_REPETITION, CONTENT_FREE], [TEMPLATE]]
    assert [s.weight for s in out] == [1.0, 0.0, 0.0]


def test_stage_reads_document_text_when_not_normalized() -> None:
    sig = Signal.from_document(RawDocument(source="t", source_type="review", text="此用户未填写评价内容"))
    [out] = make_denoise(StageContext(get_settings()))([sig])
    assert out.noise == [TEMPLATE]


def test_stage_is_idempotent() -> None:
    stage = make_denoise(StageContext(get_settings()))
    sig = Signal.from_document(RawDocument(source="t", source_type="review", text="哈哈哈哈哈哈"))
    once = stage([sig])[0].model_copy(deep=True)
    twice = stage([sig])[0]
    assert once.noise == twice.noise and once.weight == twice.weight


def test_patterns_file_errors_name_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "patterns.txt"
    bad.write_text("[template] kind=regex drop=0\n此用户(未填写\n", encoding="utf-8")
    with pytest.raises(NoisePatternsError, match=r"patterns\.txt:2: invalid regular expression"):
        load_patterns(bad, None)
    bad.write_text("orphan line\n", encoding="utf-8")
    with pytest.raises(NoisePatternsError, match=r"patterns\.txt:1: line before the first \[section\]"):
        load_patterns(bad, None)
    bad.write_text("[template] drop=2\n", encoding="utf-8")
    with pytest.raises(NoisePatternsError, match=r"patterns\.txt:1: drop must lie between 0 and 1"):
        load_patterns(bad, None)
    with pytest.raises(NoisePatternsError, match="cannot read noise patterns"):
        load_patterns(tmp_path / "missing.txt", None)


def test_custom_patterns_file_and_lexicon_hazards(tmp_path: Path) -> None:
    lexicons = tmp_path / "lexicons"
    lexicons.mkdir()
    (lexicons / "hazards.tsv").write_text("term\thazard\n爆珠\tchoking\n", encoding="utf-8")
    custom = tmp_path / "noise.txt"
    custom.write_text(
        "[template] kind=regex drop=0 keep=0.5\n^默认评价$\n[content_free] kind=none drop=0\n[filler] kind=terms\n好\n",
        encoding="utf-8",
    )
    patterns = load_patterns(custom, lexicons)
    assert assess("默认评价", patterns).reasons == [TEMPLATE]
    assert assess("好", patterns).reasons == [CONTENT_FREE]
    assert assess("爆珠", patterns).reasons == []  # a hazard term from the lexicon
    assert patterns.has_hazard("小心爆珠")


# ---------------------------------------------------------------- the batch path: the same verdicts, faster

SHOPPING_CSV = shared_data_dir() / "online_shopping_10_cats" / "online_shopping_10_cats.csv"


def _real_and_repetitive_texts() -> list[str]:
    with SHOPPING_CSV.open(encoding="utf-8-sig", newline="") as f:
        rows = [r["review"] for r in csv.DictReader(f) if r["review"].strip()][::40]
    texts = [normalize_text(r) for r in rows]
    rng = random.Random(7)
    spam = []
    for t in texts[:400]:  # units said again (哈哈哈, 不错不错不错) and phrases said twice, around real text
        spam.append(t + t[: rng.randint(1, 8)] * rng.randint(2, 4))
        spam.append(t[: rng.randint(9, 40)] * 2 + t)
    return [*texts, *spam, "", "哈哈哈", "好好好好", "很好很好", "111111", "不错不错不错", "爆珠", "好"]


@pytest.mark.skipif(not SHOPPING_CSV.is_file(), reason="the shared data sets are not available")
def test_the_batch_gives_each_texts_own_verdict_on_real_reviews(patterns: NoisePatterns) -> None:
    texts = _real_and_repetitive_texts()
    batched = [v for i in range(0, len(texts), 256) for v in assess_batch(texts[i : i + 256], patterns)]
    singly = [assess(t, patterns) for t in texts]  # no gates: every search runs
    assert [(v.reasons, v.weight, v.residual) for v in batched] == [(v.reasons, v.weight, v.residual) for v in singly]
    assert sum(SPAM_REPETITION in v.reasons for v in batched) > 100


def test_repetition_gates_never_miss_a_repetition() -> None:
    rng = random.Random(3)
    texts = ["".join(rng.choice("哈好不错abc1") for _ in range(rng.randint(0, 40))) for _ in range(2000)]
    texts += ["不错不错不错", "充电宝用了两天就很烫充电宝用了两天就很烫", "很好很好", "", "a"]
    short, long = repetition_gates(texts)
    for text, may_short, may_long in zip(texts, short, long, strict=True):
        if _SHORT_REPEAT_RE.search(text):
            assert may_short, text
        if _LONG_REPEAT_RE.search(text):
            assert may_long, text
        assert collapse_repetition(text, (bool(may_short), bool(may_long))) == collapse_repetition(text)
    assert not short.all() and not long.all()
