"""The PostgreSQL batch registry passes the same contract as SQLite, against a real server started for the session
(tests/pg_server.py), and its claims are race-free across processes, not only threads."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from riskmine.feeds.batches import BatchRegistry, open_batch_registry
from riskmine.settings import Settings

from .batch_registry_contract import BatchRegistryContract

pytestmark = pytest.mark.integration
pytest.importorskip("psycopg", reason="the PostgreSQL driver is not installed: pip install -e '.[pg]'")

from riskmine.feeds.pg_batches import PgBatchRegistry  # noqa: E402


class TestPgBatchRegistry(BatchRegistryContract):
    @pytest.fixture
    def registry(self, postgres_url: str) -> BatchRegistry:
        return PgBatchRegistry(postgres_url)


def test_the_database_url_setting_chooses_postgresql(postgres_url: str, tmp_path: Path) -> None:
    registry = open_batch_registry(Settings(var_dir=tmp_path, database_url=postgres_url))
    assert isinstance(registry, PgBatchRegistry)
    assert not (tmp_path / "stations").exists()


def _claim_in_a_process(url: str, start: multiprocessing.synchronize.Barrier, won: multiprocessing.Queue) -> None:
    registry = PgBatchRegistry(url)  # opening at once: the migrations run under the advisory lock
    start.wait()
    won.put(registry.claim("站A", "e" * 64, "csv", lease_seconds=600)[1])


def test_processes_racing_to_claim_one_batch_one_receives_it(postgres_url: str) -> None:
    context = multiprocessing.get_context("spawn")
    start, won = context.Barrier(4), context.Queue()
    workers = [context.Process(target=_claim_in_a_process, args=(postgres_url, start, won)) for _ in range(4)]
    for w in workers:
        w.start()
    results = sorted(won.get(timeout=60) for _ in workers)
    for w in workers:
        w.join(timeout=60)
    assert results == [False, False, False, True]
    (batch,) = PgBatchRegistry(postgres_url).receiving()
    assert batch.attempts == 1
