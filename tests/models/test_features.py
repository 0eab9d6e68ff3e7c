"""The baseline's feature matrix: the fast transform gives scikit-learn's numbers entry for entry."""

from __future__ import annotations

import csv
import json
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion

from riskmine.models.baseline import BaselineRiskModel
from riskmine.models.features import (
    FeatureConfig,
    _char_columns,
    _key_table,
    _word_columns,
    build_features,
    transform,
)
from riskmine.settings import BUNDLED_CORPUS, shared_data_dir
from riskmine.text.normalize import normalize_text


def _corpus_texts(limit: int) -> list[str]:
    texts: list[str] = []
    for path in sorted(BUNDLED_CORPUS.glob("*.jsonl")):
        with path.open(encoding="utf-8") as f:
            texts.extend(json.loads(line)["text"] for line in f if line.strip())
    return texts[::7][:limit]


def test_fast_transform_equals_scikit_learn_on_real_texts() -> None:
    texts = _corpus_texts(600)
    features = build_features(FeatureConfig(char_ngrams=(1, 4), hazard_sense_terms=False))
    features.fit(texts[:400])
    unseen = [*texts[400:], "", "  空白  多个   空格\t\n", "ABC abc 充电宝冒烟"]  # and texts it was not fitted on
    for batch in (texts[:50], unseen):
        expected = sp.csr_matrix(features.transform(batch))
        expected.sort_indices()
        got = transform(features, batch)
        got.sort_indices()
        assert got.shape == expected.shape
        assert np.array_equal(got.indptr, expected.indptr) and np.array_equal(got.indices, expected.indices)
        assert np.array_equal(got.data, expected.data)  # the same floats, not just close ones


def test_baseline_predictions_use_the_fast_transform(trained: BaselineRiskModel) -> None:
    texts = ["充电宝充电时冒烟起火", "物流很快，包装完好", ""]
    assert trained.features is not None
    expected = sp.csr_matrix(trained.features.transform(texts))
    assert abs(trained._transform(texts) - expected).max() == 0


SHOPPING_CSV = shared_data_dir() / "online_shopping_10_cats" / "online_shopping_10_cats.csv"


def _assert_same_matrix(got: sp.csr_matrix, expected: Any) -> None:
    expected = sp.csr_matrix(expected)
    expected.sort_indices()
    assert got.has_sorted_indices
    assert got.shape == expected.shape
    assert np.array_equal(got.indptr, expected.indptr) and np.array_equal(got.indices, expected.indices)
    assert np.array_equal(got.data, expected.data)


@pytest.mark.skipif(not SHOPPING_CSV.is_file(), reason="the shared data sets are not available")
def test_numpy_counting_equals_scikit_learn_on_real_reviews() -> None:
    """The default feature set (character 1-3-grams, word 1-2-grams: the n-grams counted as integer keys)."""
    with SHOPPING_CSV.open(encoding="utf-8-sig", newline="") as f:
        rows = [r["review"] for r in csv.DictReader(f) if r["review"].strip()][::100]
    texts = [normalize_text(r) for r in rows]
    config = FeatureConfig(hazard_sense=False)
    features = build_features(config)
    features.fit(texts[:300])
    char, word = (part for _, part in features.transformer_list)
    unseen = [*texts[300:], "", "a", "𠮷野家的饭 🍜 好吃", "  空白  多个   空格\t\n", "ABC abc 充电宝冒烟"]
    for batch in (texts[:64], unseen):
        assert _char_columns(char, batch) is not None and _word_columns(word, batch) is not None  # the numpy way
        _assert_same_matrix(transform(features, batch), features.transform(batch))


def test_words_holding_a_space_are_counted_scikit_learns_way() -> None:
    texts = ["红 色|充电宝|冒烟", "充电宝|冒烟|红 色", "冒烟|冒烟"]
    word = TfidfVectorizer(tokenizer=lambda t: t.split("|"), token_pattern=None, lowercase=False, ngram_range=(1, 2))
    word.fit(texts)
    assert _word_columns(word, texts) is None  # "红 色 充电宝" could not be told from a bigram of 红 and 色
    union = FeatureUnion([("word", word)])
    _assert_same_matrix(transform(union, texts), union.transform(texts))
    assert _word_columns(word, ["充电宝|冒烟"]) is not None


def test_key_table_finds_every_key_and_nothing_else() -> None:
    rng = np.random.default_rng(4)
    keys = np.unique(rng.integers(1, 2**62, size=5000, dtype=np.int64)).astype(np.uint64)
    table = _key_table([(int(k), i) for i, k in enumerate(keys.tolist())])
    assert np.array_equal(table.lookup(keys), np.arange(len(keys)))
    others = rng.integers(1, 2**62, size=5000, dtype=np.int64).astype(np.uint64)
    assert (table.lookup(others[~np.isin(others, keys)]) == -1).all()
    assert table.lookup(np.zeros(0, dtype=np.uint64)).size == 0
