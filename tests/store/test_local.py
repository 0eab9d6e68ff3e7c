"""Local state files: one connection setup and versioned migrations for review, users, batches and crawl state."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from riskmine.store.base import StoreError
from riskmine.store.local import SQLiteFile, script

V1 = script("CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL);")
V2 = script(
    """
    ALTER TABLE notes ADD COLUMN author TEXT;
    CREATE TRIGGER IF NOT EXISTS notes_no_delete BEFORE DELETE ON notes
    BEGIN SELECT RAISE(ABORT, 'notes are append-only'); END;
    """
)


def test_migrations_run_once_in_order_and_the_version_is_recorded(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    assert SQLiteFile(path, [V1]).version == 1
    with SQLiteFile(path, [V1]).connect() as db:
        db.execute("INSERT INTO notes (body) VALUES ('kept')")
    upgraded = SQLiteFile(path, [V1, V2])  # V1 is not run again; V2 (with a trigger body holding ';') is
    assert upgraded.version == 2
    with upgraded.connect() as db:
        db.execute("UPDATE notes SET author = 'a'")
        row = db.execute("SELECT body, author FROM notes").fetchone()
        assert (row["body"], row["author"]) == ("kept", "a")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"), upgraded.connect() as db:
        db.execute("DELETE FROM notes")


def test_a_file_made_before_migrations_is_adopted(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as old:
        old.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
        old.execute("INSERT INTO notes (body) VALUES ('from before')")
    with SQLiteFile(path, [V1]).connect() as db:
        assert [r["body"] for r in db.execute("SELECT body FROM notes")] == ["from before"]


def test_a_newer_file_is_refused_and_a_failed_block_is_rolled_back(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    SQLiteFile(path, [V1, V2])
    with pytest.raises(StoreError, match="newer than this riskmine knows"):
        SQLiteFile(path, [V1])
    state = SQLiteFile(path, [V1, V2])
    with pytest.raises(RuntimeError), state.connect() as db:
        db.execute("INSERT INTO notes (body) VALUES ('lost')")
        raise RuntimeError("stop")
    with state.connect() as db:
        assert db.execute("SELECT COUNT(*) FROM notes").fetchone()[0] == 0
    with pytest.raises(ValueError, match="incomplete SQL statement"):
        script("CREATE TABLE x (a INT)")


def test_every_local_state_file_is_versioned(tmp_path: Path) -> None:
    from riskmine.crawler.seen import SQLiteSeenStore
    from riskmine.feeds import sqlite_batches
    from riskmine.review import sqlite_repository as review

    for opened, migrations in (
        (review.SQLiteReviewRepository(tmp_path / "review.sqlite3"), review.MIGRATIONS),
        (review.SQLiteUserRepository(tmp_path / "users.sqlite3"), review.USER_MIGRATIONS),
        (sqlite_batches.SQLiteBatchRegistry(tmp_path / "batches.sqlite3"), sqlite_batches.MIGRATIONS),
    ):
        assert opened.file.version == len(migrations) >= 1
    seen = SQLiteSeenStore(tmp_path / "seen.sqlite3")
    seen.add("src", "https://example.org/a")
    assert seen.has("src", "https://example.org/a") and seen.count("src") == 1
    seen.close()
    with sqlite3.connect(tmp_path / "seen.sqlite3") as db:
        assert db.execute("SELECT version FROM schema_version").fetchone()[0] == 1
