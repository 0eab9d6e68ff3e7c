"""Fixtures of the store tests: the sample corpus (fresh copies per test); the search cluster is tests/conftest.py's
``es_url``."""

from __future__ import annotations

import pytest

from riskmine.schema import CandidateRisk, Decision, Signal

from .samples import candidate_corpus, decision_corpus, signal_corpus


@pytest.fixture
def signals() -> dict[str, Signal]:
    return signal_corpus()


@pytest.fixture
def candidates(signals: dict[str, Signal]) -> dict[str, CandidateRisk]:
    return candidate_corpus(signals)


@pytest.fixture
def decisions(candidates: dict[str, CandidateRisk]) -> dict[str, Decision]:
    return decision_corpus(candidates)
