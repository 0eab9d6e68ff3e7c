"""The baseline's feature matrix: the fast transform gives scikit-learn's numbers entry for entry."""

from __future__ import annotations

import json

import numpy as np
import scipy.sparse as sp

from riskmine.models.baseline import BaselineRiskModel
from riskmine.models.features import FeatureConfig, build_features, transform
from riskmine.settings import BUNDLED_CORPUS


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
