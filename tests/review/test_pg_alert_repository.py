"""The PostgreSQL alert repository passes the same contract as the SQLite file, against a real server started for
the session (tests/pg_server.py); RISKMINE_DATABASE_URL chooses it."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from riskmine.review.alert_repository import AlertRepository, open_alert_repository
from riskmine.settings import Settings

from .alert_repository_contract import AlertRepositoryContract

pytestmark = pytest.mark.integration
pytest.importorskip("psycopg", reason="the PostgreSQL driver is not installed: pip install -e '.[pg]'")

from riskmine.review.pg_alert_repository import PgAlertRepository  # noqa: E402


class TestPgAlertRepository(AlertRepositoryContract):
    @pytest.fixture
    def make_repo(self, postgres_url: str) -> Callable[[], AlertRepository]:
        return lambda: PgAlertRepository(postgres_url)


def test_the_database_url_setting_chooses_postgresql(postgres_url: str, tmp_path: Path) -> None:
    repo = open_alert_repository(Settings(var_dir=tmp_path / "var", database_url=postgres_url))
    assert isinstance(repo, PgAlertRepository)
    assert not (tmp_path / "var" / "alerts.sqlite3").exists()


def test_events_of_the_review_workflow_go_to_the_shared_database(postgres_url: str, tmp_path: Path) -> None:
    """Objections (through the review repository) and refreshes (through the settings) reach the outbox every node
    reads, not a local file."""
    from riskmine.review.alert_repository import alert_outbox_of
    from riskmine.review.alerts import refresh_hook
    from riskmine.review.pg_repository import PgReviewRepository
    from riskmine.review.sqlite_alert_repository import SQLiteAlertRepository
    from riskmine.review.sqlite_repository import SQLiteReviewRepository
    from riskmine.store.sqlite import SQLiteStore

    var = tmp_path / "var"
    assert isinstance(alert_outbox_of(PgReviewRepository(postgres_url, var_dir=var)), PgAlertRepository)
    embedded = tmp_path / "embedded"
    assert isinstance(alert_outbox_of(SQLiteReviewRepository(embedded / "review.sqlite3")), SQLiteAlertRepository)
    store = SQLiteStore(tmp_path / "store.sqlite3")
    try:
        assert refresh_hook(Settings(var_dir=var, database_url=postgres_url))(store) == 0  # no candidates yet
    finally:
        store.close()
    assert not (var / "alerts.sqlite3").exists()


def test_a_claim_skips_rows_another_sender_holds_without_waiting(postgres_url: str) -> None:
    import psycopg

    from .alert_repository_contract import T0, T1, T2, delivery

    repo = PgAlertRepository(postgres_url)
    repo.add_delivery(delivery("d1"))
    repo.add_delivery(delivery("d2", eid="e2"))
    claimed: list[str] = []
    with psycopg.connect(postgres_url) as other:  # another node's sender, mid-claim on d1
        other.execute("SELECT id FROM deliveries WHERE id = 'd1' FOR UPDATE")
        claimer = threading.Thread(target=lambda: claimed.extend(d.id for d in repo.claim_due(T1, T2, 10)))
        claimer.start()
        claimer.join(10)  # a claim that waited for d1 would only finish after the rollback, and take it too
        other.rollback()
        claimer.join()
    assert claimed == ["d2"]
    assert [d.id for d in repo.claim_due(T0, T2, 10)] == ["d1"]
