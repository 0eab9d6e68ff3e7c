"""The embedded SQLite crawl state passes the SeenStore contract."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from riskmine.crawler.seen import SeenStore, SQLiteSeenStore, open_seen_store

from .seen_contract import SeenStoreContract


class TestSQLiteSeenStore(SeenStoreContract):
    @pytest.fixture
    def make_seen(self, tmp_path: Path) -> Callable[[], SeenStore]:
        return lambda: open_seen_store(tmp_path / "crawl" / "seen.sqlite3")


def test_open_gives_the_sqlite_store(tmp_path: Path) -> None:
    seen = open_seen_store(tmp_path / "seen.sqlite3")
    try:
        assert isinstance(seen, SQLiteSeenStore)
    finally:
        seen.close()


@pytest.mark.integration
class TestPgSeenStore(SeenStoreContract):
    @pytest.fixture
    def make_seen(self, postgres_url: str) -> Callable[[], SeenStore]:
        return lambda: open_seen_store(postgres_url)

    def test_a_database_url_opens_the_postgresql_store(self, postgres_url: str) -> None:
        from riskmine.crawler.pg_seen import PgSeenStore

        assert isinstance(open_seen_store(postgres_url), PgSeenStore)
