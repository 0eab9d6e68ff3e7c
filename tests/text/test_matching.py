"""Term matching gates: a batch primed at once, and regular expressions gated by the strings they need,
answer exactly as the plain automaton scan and the regex searches do on real reviews."""

from __future__ import annotations

import csv
import random
import re

import pytest

from riskmine.models.stated_hazard import PATTERNS, find_stated_hazards
from riskmine.settings import shared_data_dir
from riskmine.text.gazetteer import get_gazetteer
from riskmine.text.lexicon import get_lexicons
from riskmine.text.matching import PatternGate, TermGate, TermIndex, required_substrings
from riskmine.text.normalize import normalize_text

SHOPPING_CSV = shared_data_dir() / "online_shopping_10_cats" / "online_shopping_10_cats.csv"
needs_data = pytest.mark.skipif(not SHOPPING_CSV.is_file(), reason="the shared data sets are not available")


def _reviews(step: int) -> list[str]:
    with SHOPPING_CSV.open(encoding="utf-8-sig", newline="") as f:
        rows = [r["review"] for r in csv.DictReader(f) if r["review"].strip()][::step]
    return [normalize_text(r) for r in rows]


def _indexes() -> dict[str, TermIndex[object]]:
    lex = get_lexicons()
    return {
        "hazards": lex.hazards,
        "taxonomy": lex.taxonomy.index,
        "brands": lex.brands,
        "populations": lex.populations,
        "harm": lex.harm,
        "cues_before": lex.cues_before,
        "regions": get_gazetteer().index,
    }


@needs_data
def test_a_primed_index_finds_what_a_full_scan_finds_in_real_reviews() -> None:
    texts = _reviews(120)  # about 500 reviews of every category
    for name, index in _indexes().items():
        fresh: TermIndex[object] = TermIndex({term: value for term, (_, value) in index._automaton.items()})
        index.prime(texts)
        skipped = sum(index.gate.holds_none(t) for t in texts)
        for text in texts:
            assert [(m.start, m.end, m.term) for m in index.find(text)] == [
                (m.start, m.end, m.term) for m in fresh.find(text)
            ], (name, text)
        if name in ("hazards", "harm", "regions"):  # most reviews name no hazard, harm or place: not scanned
            assert skipped > 0.6 * len(texts), name


def test_the_gate_never_skips_a_text_holding_a_term() -> None:
    rng = random.Random(5)
    terms = ["漏电", "冒烟", "爆", "𠮷野家", "ab", "北京市", "x"]
    gate = TermGate(terms)
    alphabet = "漏电冒烟爆𠮷野家北京市abx你好。，\x00 "
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12))) for _ in range(3000)]
    texts += ["", "漏", "电漏", "𠮷野", "野家", "𠮷野家", "电", "a", "b a", "漏\x00电"]
    gate.prime(texts)
    for text in texts:
        holds = any(term in text for term in terms)
        if holds:
            assert not gate.holds_none(text), text
    assert gate.holds_none("电漏") and gate.holds_none("野家") and not gate.holds_none("𠮷野家")
    assert gate.holds_none("𠮷野")  # the first two characters of 𠮷野家 only: its head is all three
    assert not gate.holds_none("你好漏电")  # never primed: not known


def test_required_substrings_are_held_by_every_match() -> None:
    assert required_substrings(re.compile(r"(?P<c>不合格|不达标)")) == {"合格", "达标"}
    assert required_substrings(re.compile(r"(?<!电池)漏电(?!保护)")) == {"漏电"}
    assert required_substrings(re.compile(r"a?b+")) == {"b"}
    assert required_substrings(re.compile(r"[xy]z{2}")) == {"z"}
    for promises_nothing in (r"(?i)abc", r".*", r"a|", r"[^a]b?", r"\d+"):
        assert required_substrings(re.compile(promises_nothing)) is None


@needs_data
def test_the_stated_hazard_gate_lets_every_matching_review_through() -> None:
    gate = PatternGate(p.regex for p in PATTERNS)
    texts = _reviews(25)
    # and texts made to match: each pattern's own words in a review's context
    texts += [f"{t[:20]}充电宝{w}{t[20:40]}" for t in texts[:200] for w in ("漏电了", "冒烟", "爆炸", "鼓包", "被电到")]
    passed = 0
    for text in texts:
        matches = any(p.regex.search(text) for p in PATTERNS)
        if matches:
            assert gate.may_match(text), text
        passed += gate.may_match(text)
        if not gate.may_match(text):
            assert find_stated_hazards(text) == [] and find_stated_hazards(text, "news") == []
    assert passed < 0.5 * len(texts)  # the gate answers most reviews without a search


def test_the_matches_of_a_recent_text_are_kept_and_given_out_as_new_lists() -> None:
    index: TermIndex[str] = TermIndex({"充电宝": "a", "冒烟": "b", "充电": "c"})
    text = "这个充电宝用了两天就冒烟了，充电的时候还很烫，赶紧拔掉了"
    first = index.find(text)
    assert [(m.start, m.end, m.term) for m in first] == [(2, 5, "充电宝"), (10, 12, "冒烟"), (14, 16, "充电")]
    first.clear()  # a caller's list is its own
    again = index.find(text)
    assert [m.term for m in again] == ["充电宝", "冒烟", "充电"] and again is not first
    assert text in index._recent and index.find("冒烟") == [index.find("冒烟")[0]]


def test_the_gate_looks_at_heads_of_up_to_four_characters_and_never_skips_a_term() -> None:
    rng = random.Random(6)
    # terms sharing their first two characters, of every length up to six, beside one-character ones
    terms = [
        "北京", "北京市", "北京市海", "北京市海淀", "北海道路口", "南昌", "南昌县城", "𠮷野家", "a", "上海浦东新区",
    ]  # fmt: skip
    gate = TermGate(terms)
    alphabet = "北京市海淀道路口南昌县城𠮷野家上浦东新区好。\x00 "
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 14))) for _ in range(6000)]
    texts += ["北京", "北市", "北海道", "北海道路", "南昌县", "上海浦", "上海", "北京北京市"]
    gate.prime(texts)
    for text in texts:
        if any(term in text for term in terms):
            assert not gate.holds_none(text), text
    # two first characters of a term are no longer enough: its head (3 or 4 characters) must be there too
    assert gate.holds_none("北海道") and gate.holds_none("上海浦") and gate.holds_none("北市")
    assert not gate.holds_none("北海道路") and not gate.holds_none("北京") and not gate.holds_none("南昌县")


@needs_data
def test_the_place_name_gate_skips_most_real_reviews() -> None:
    texts = _reviews(120)
    index = get_gazetteer().index
    index.prime(texts)
    # most reviews name no place, though many hold the first two characters of one (比如, 东方, 和平)
    assert sum(index.gate.holds_none(t) for t in texts) > 0.75 * len(texts)
