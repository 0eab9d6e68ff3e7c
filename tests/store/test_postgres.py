"""Shared state in PostgreSQL (riskmine.store.postgres): versioned migrations applied once under an advisory lock,
even by nodes opening at once; a schema newer than the code is refused; URLs are checked and never shown with
their password. The server is started for the session (tests/pg_server.py)."""

from __future__ import annotations

import threading

import pytest

from riskmine.settings import SettingsError, load_settings
from riskmine.store.postgres import DatabaseUnavailable, PostgresDatabase, advisory_key, is_postgres_url, redact

MIGRATIONS = [
    "CREATE TABLE things (id TEXT PRIMARY KEY);",
    "ALTER TABLE things ADD COLUMN n INTEGER NOT NULL DEFAULT 0; CREATE INDEX things_n ON things (n);",
]


def test_urls_are_recognised_and_shown_without_their_password() -> None:
    assert is_postgres_url("postgresql://u:p@db:5432/riskmine") and is_postgres_url("postgres://db/riskmine")
    assert not is_postgres_url("sqlite:///var/x.sqlite3")
    assert redact("postgresql://app:s3cret@db:5432/riskmine") == "postgresql://app:***@db:5432/riskmine"
    assert redact("postgresql://app@db/riskmine") == "postgresql://app@db/riskmine"
    assert advisory_key("login_throttle:a") == advisory_key("login_throttle:a") != advisory_key("login_throttle:b")
    assert -(2**63) <= advisory_key("x") < 2**63


def test_the_setting_takes_postgresql_urls_only() -> None:
    assert load_settings().database_url is None
    assert load_settings(database_url="").database_url is None
    url = "postgresql://app:pw@127.0.0.1:5432/riskmine"
    assert load_settings(database_url=url).database_url == url
    with pytest.raises(SettingsError, match=r"RISKMINE_DATABASE_URL: .*not a PostgreSQL URL"):
        load_settings(database_url="mysql://app@db/riskmine")


def test_an_unreachable_server_says_which_setting_and_hides_the_password() -> None:
    pytest.importorskip("psycopg", reason="the PostgreSQL driver is not installed: pip install -e '.[pg]'")
    from tests.pg_server import _free_port

    url = f"postgresql://app:s3cret@127.0.0.1:{_free_port()}/riskmine"
    with pytest.raises(DatabaseUnavailable, match="RISKMINE_DATABASE_URL") as caught:
        PostgresDatabase(url, "things", MIGRATIONS)
    assert "s3cret" not in str(caught.value)


@pytest.mark.integration
def test_migrations_apply_once_in_order_and_upgrade_an_older_schema(postgres_url: str) -> None:
    old = PostgresDatabase(postgres_url, "things", MIGRATIONS[:1])
    assert old.version == 1
    with old.connect() as conn:
        conn.execute("INSERT INTO things (id) VALUES ('a')")
    new = PostgresDatabase(postgres_url, "things", MIGRATIONS)
    assert new.version == 2
    assert PostgresDatabase(postgres_url, "things", MIGRATIONS).version == 2  # nothing left to apply
    with new.connect() as conn:
        assert conn.execute("SELECT id, n FROM things").fetchall() == [{"id": "a", "n": 0}]
        versions = conn.execute("SELECT component, version FROM riskmine_schema").fetchall()
    assert versions == [{"component": "things", "version": 2}]
    with pytest.raises(DatabaseUnavailable, match="version 2, newer than this riskmine knows"):
        PostgresDatabase(postgres_url, "things", MIGRATIONS[:1])


@pytest.mark.integration
def test_nodes_opening_a_new_database_at_once_migrate_it_once(postgres_url: str) -> None:
    errors: list[BaseException] = []
    barrier = threading.Barrier(6)

    def open_it() -> None:
        try:
            barrier.wait()
            assert PostgresDatabase(postgres_url, "things", MIGRATIONS).version == 2
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
