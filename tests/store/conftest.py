"""Fixtures of the store tests: the sample corpus (fresh copies per test), and a search cluster."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

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


_OPENSEARCH = Path(__file__).resolve().parents[2] / "deploy" / "opensearch"


@pytest.fixture(scope="session")
def es_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The search cluster of the integration tests: RISKMINE_ES_URL when set; else, when the OpenSearch
    launcher is built (deploy/opensearch/opensearch.sh build), a single node started for the session on a
    free port of 127.0.0.1 with its data in a temporary folder, stopped at the end; else the tests skip."""
    url = os.environ.get("RISKMINE_ES_URL")
    if url:
        yield url
        return
    if not (_OPENSEARCH / "target" / "classpath.txt").is_file() or not shutil.which("java"):
        pytest.skip(
            "no search cluster: set RISKMINE_ES_URL=http://127.0.0.1:9200, or build the single-node OpenSearch "
            "with deploy/opensearch/opensearch.sh build (Java 17 + Maven) and the tests start it themselves"
        )
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {
        **os.environ,
        "OPENSEARCH_PORT": str(port),
        "OPENSEARCH_DATA": str(tmp_path_factory.mktemp("opensearch")),
    }
    script = str(_OPENSEARCH / "opensearch.sh")
    started = subprocess.run([script, "start"], env=env, capture_output=True, text=True, timeout=400)
    try:
        if started.returncode != 0:
            pytest.fail(f"the OpenSearch node did not start:\n{started.stderr[-3000:]}")
        yield f"http://127.0.0.1:{port}"
    finally:
        subprocess.run([script, "stop"], env=env, capture_output=True, timeout=120)
