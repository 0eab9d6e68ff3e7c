"""Fixtures: the test corpus written to tmp_path, and a baseline trained on it once per module."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from riskmine.models.baseline import BaselineRiskModel, train_baseline
from riskmine.models.corpus import Corpus, load_corpus
from tests.models.corpus_factory import corpus_rows, write_jsonl


@pytest.fixture
def write_corpus(tmp_path: Path) -> Callable[..., Path]:
    def write(rows: list[dict[str, Any]] | None = None, name: str = "labels.jsonl") -> Path:
        return write_jsonl(tmp_path / "corpus" / name, corpus_rows() if rows is None else rows)

    return write


@pytest.fixture
def corpus_file(write_corpus: Callable[..., Path]) -> Path:
    return write_corpus()


@pytest.fixture(scope="module")
def module_corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    path = write_jsonl(tmp_path_factory.mktemp("corpus") / "labels.jsonl", corpus_rows())
    return load_corpus(path)


@pytest.fixture(scope="module")
def trained(module_corpus: Corpus) -> BaselineRiskModel:
    return train_baseline(module_corpus.train, module_corpus.dev)
