"""The segmenters (jieba-rs, jieba) with the domain dictionary, their word lists, and the cache the features share."""

from __future__ import annotations

import csv
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from riskmine.settings import shared_data_dir
from riskmine.text.normalize import normalize_text
from riskmine.text.tokenize import segment_text, set_engine, tokenizer, tokens
from riskmine.text.userdict import LexiconError, domain_words, lexicon_terms, read_lexicon, read_word_list

# Real reviews, copied with their provenance (online_shopping_10_cats/online_shopping_10_cats.csv, file line).
LEAK = "华为P9 在充电时，金属后背漏电，有麻麻的感觉 以申请退货 现在京东不咋地啊 客服不说话 打电话没人接 服了"  # 12811
HEATER = "装上了，一切都还好。防电墙有了，就是没有防漏电开关，如果有的话就更好了。价格划算。发票也有。"  # 36439


def test_domain_words_stay_whole() -> None:
    words = tokens("这个充电宝会冒烟，漏电保护器跳闸了，电热水器漏电")
    for word in ("充电宝", "冒烟", "漏电保护器", "电热水器", "漏电"):
        assert word in words


def test_real_review_tokens() -> None:
    words = tokens(normalize_text(LEAK))
    assert "漏电" in words and "充电" in words and "P9" in words
    assert "," not in words and " " not in words


def test_punctuation_and_emoji_dropped_unless_asked() -> None:
    assert tokens("冒烟了！😡") == ["冒烟", "了"]
    assert tokens("冒烟了！😡", keep_punct=True) == ["冒烟", "了", "！", "😡"]


def test_traditional_text_is_segmented_after_normalization() -> None:
    assert "充电宝" in tokens(normalize_text("這個充電寶會冒煙"))


def test_gbk_round_trip_text_segments_the_same() -> None:
    text = HEATER.encode("gbk").decode("gbk")
    assert tokens(text) == tokens(HEATER)


def test_empty_and_whitespace() -> None:
    assert tokens("") == []
    assert tokens(" \n\t ") == []
    assert segment_text("") == ""


def test_tokenizer_is_built_once() -> None:
    assert tokenizer() is tokenizer()


def test_long_text_segments_in_reasonable_time() -> None:
    text = normalize_text(HEATER * 1000)  # ~48k characters
    tokenizer()
    t0 = time.perf_counter()
    words = tokens(text)
    assert time.perf_counter() - t0 < 10.0
    assert words.count("漏电开关") == 1000  # the accessory, kept whole by the lexicon


def test_lexicon_reader_handles_headers_aliases_and_comments(tmp_path: Path) -> None:
    (tmp_path / "products.tsv").write_text(
        "name\tcode\taliases\n# comment\n移动电源\tpower_bank\t充电宝|尿不湿电源\n\n电热毯\tblanket\t\n",
        encoding="utf-8",
    )
    (tmp_path / "plain.tsv").write_text("暖手宝\n", encoding="utf-8")
    assert read_lexicon(tmp_path / "products.tsv") == ["移动电源", "充电宝", "尿不湿电源", "电热毯"]
    assert lexicon_terms(tmp_path) == ["暖手宝", "移动电源", "充电宝", "尿不湿电源", "电热毯"]
    assert lexicon_terms(tmp_path / "absent") == []


def test_word_list_and_domain_words(tmp_path: Path) -> None:
    words = tmp_path / "userdict.txt"
    words.write_text("# domain\n充电宝 50\n暖 手 宝\n冒烟\n", encoding="utf-8")
    with pytest.raises(LexiconError, match=r"userdict\.txt:3: frequency must be a whole number"):
        read_word_list(words)
    words.write_text("# domain\n充电宝 50\n冒烟\n", encoding="utf-8")
    assert read_word_list(words) == [("充电宝", 50), ("冒烟", None)]
    (tmp_path / "x.tsv").write_text("term\n冒烟\n鼓包\n单\n", encoding="utf-8")
    assert domain_words(words, tmp_path) == [("充电宝", 50), ("冒烟", None), ("鼓包", None)]


def test_unreadable_lexicon_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.tsv"
    bad.write_bytes("漏电".encode("gbk"))
    with pytest.raises(LexiconError, match="cannot read lexicon"):
        read_lexicon(bad)


def test_a_text_is_cut_once_and_its_words_are_shared_with_the_model_features(monkeypatch: pytest.MonkeyPatch) -> None:
    from riskmine.models.features import segment_tokens
    from riskmine.text import tokenize as segment

    text = "这款Anker充电宝充电时冒烟起火，吓死了"
    segment._cache.clear()
    calls: list[str] = []
    real_cut = segment._cut

    def counting_cut(t: str, keep_punct: bool, hmm: bool) -> list[str]:
        calls.append(t)
        return real_cut(t, keep_punct, hmm)

    monkeypatch.setattr(segment, "_cut", counting_cut)
    words = segment.tokens(text)
    words.append("mutated")  # callers get their own list
    assert segment_tokens(text) == [w.lower() for w in segment.tokens(text)]
    assert "anker" in segment_tokens(text) and "mutated" not in segment.tokens(text)
    assert calls == [text]


SHOPPING_CSV = shared_data_dir() / "online_shopping_10_cats" / "online_shopping_10_cats.csv"


@pytest.fixture
def engines() -> Iterator[Callable[[str], Callable[[str], list[str]]]]:
    """`cut_with(engine)`: the tokens function of that segmenter; the process's choice is restored afterwards."""
    from riskmine.text import tokenize as segment

    before = segment._engine

    def cut_with(engine: str) -> Callable[[str], list[str]]:
        set_engine(engine)
        return lambda text: segment._cut(text, False, False)  # uncached

    yield cut_with
    set_engine(before)


@pytest.mark.skipif(not SHOPPING_CSV.is_file(), reason="the shared data sets are not available")
def test_rjieba_cuts_real_reviews_as_jieba_does(engines: Callable[[str], Callable[[str], list[str]]]) -> None:
    pytest.importorskip("rjieba")
    with SHOPPING_CSV.open(encoding="utf-8-sig", newline="") as f:
        reviews = [normalize_text(r["review"]) for r in csv.DictReader(f) if r["review"].strip()][::20]
    assert len(reviews) > 3000
    jieba_words = list(map(engines("jieba"), reviews))
    rjieba_words = list(map(engines("rjieba"), reviews))
    same = [a == b for a, b in zip(jieba_words, rjieba_words, strict=True)]
    # 99.95% on this sample; the rest are ties between equally likely cuts (好|好好 for 好好|好)
    assert sum(same) / len(same) >= 0.998
    assert all(sorted(a) == sorted(b) for a, b in zip(jieba_words, rjieba_words, strict=True))


@pytest.mark.parametrize("engine", ["jieba", "rjieba"])
def test_domain_words_stay_whole_with_each_segmenter(
    engine: str, engines: Callable[[str], Callable[[str], list[str]]]
) -> None:
    if engine == "rjieba":
        pytest.importorskip("rjieba")
    cut = engines(engine)
    words = cut("这个充电宝会冒烟，电热毯漏电，甲醛超标，漏电保护器跳闸了")
    for word in ("充电宝", "冒烟", "电热毯", "漏电", "甲醛超标", "漏电保护器"):
        assert word in words
    assert cut("太差了") == ["太差", "了"]  # as jieba, whose total the domain words raise, cuts it
    assert tokenizer().name == engine


def test_jieba_is_the_fallback_without_rjieba(
    monkeypatch: pytest.MonkeyPatch, engines: Callable[[str], Callable[[str], list[str]]]
) -> None:
    monkeypatch.setitem(sys.modules, "rjieba", None)  # import rjieba now raises ImportError
    cut = engines("auto")
    assert tokenizer().name == "jieba" and "充电宝" in cut("充电宝冒烟")
    set_engine("rjieba")
    with pytest.raises(ImportError):
        tokenizer()
    with pytest.raises(ValueError, match="unknown segmenter"):
        set_engine("pkuseg")
