"""The denoise stage's batch shortcuts (issue 18) answer exactly as the plain searches they skip."""

from __future__ import annotations

import csv
import random

import pytest

from riskmine.nlp.denoise import (
    _LONG_REPEAT_RE,
    _SHORT_REPEAT_RE,
    _has_repeated_gram,
    _more_units_than,
    content_units,
    repetition_gates,
)
from riskmine.settings import shared_data_dir
from riskmine.text.normalize import compact, normalize_text

SHOPPING_CSV = shared_data_dir() / "online_shopping_10_cats" / "online_shopping_10_cats.csv"
needs_data = pytest.mark.skipif(not SHOPPING_CSV.is_file(), reason="the shared data sets are not available")


def _check(texts: list[str]) -> tuple[int, int]:
    """Asserts that a False gate is never wrong; returns how many texts each gate let through."""
    short, long = repetition_gates(texts)
    for i, text in enumerate(texts):
        if _has_repeated_gram(text, 9) or _LONG_REPEAT_RE.search(text):
            assert long[i], text
        if _SHORT_REPEAT_RE.search(text):
            assert short[i], text
    return int(short.sum()), int(long.sum())


def test_repetition_gates_never_miss_a_repetition() -> None:
    rng = random.Random(2)
    texts = ["哈哈哈", "不错不错不错", "abcdefghiabcdefghi", "这个充电宝会冒烟这个充电宝会冒烟", "", "a", "abab"]
    texts += ["这是一段没有重复的话。" + "漏电起火冒烟" * k for k in range(4)]
    for _ in range(300):  # batches of texts made of a few characters, so that repeats are common
        alphabet = rng.choice(["ab", "abc", "电漏冒烟", "abcdefghijklmnopqrstuvwxyz好"])
        batch = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40))) for _ in range(rng.randint(1, 40))]
        _check(batch)
    _check(texts)


@needs_data
def test_repetition_gates_on_real_reviews_are_exact_where_they_say_no() -> None:
    with SHOPPING_CSV.open(encoding="utf-8-sig", newline="") as f:
        rows = [r["review"] for r in csv.DictReader(f) if r["review"].strip()][::6]
    texts = [compact(normalize_text(r)) for r in rows]
    through = [0, 0]
    for i in range(0, len(texts), 256):
        short, long = _check(texts[i : i + 256])
        through[0] += short
        through[1] += long
    # most reviews repeat nothing: the searches are skipped for them
    assert through[1] < 0.1 * len(texts) and through[0] < 0.5 * len(texts)


def test_more_units_than_counts_as_content_units() -> None:
    rng = random.Random(8)
    alphabet = "ab1好电0xyz9漏"
    cases = ["", "a", "好" * 30, "abc" * 20, "1" * 40, "a1" * 15, "好a1" * 10]
    cases += ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40))) for _ in range(5000)]
    for text in cases:
        for limit in (0, 1, 4, 8, 12):
            assert _more_units_than(text, limit) == (content_units(text) > limit), (text, limit)
