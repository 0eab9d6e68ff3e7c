"""The embedded SQLite backends of the review and user repositories pass the contracts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from riskmine.review.repository import ReviewRepository, UserRepository, open_review_repository, open_user_repository
from riskmine.review.sqlite_repository import (
    MIGRATIONS,
    USER_MIGRATIONS,
    SQLiteReviewRepository,
    SQLiteUserRepository,
)
from riskmine.settings import Settings
from riskmine.store.local import SQLiteFile

from .repository_contract import ReviewRepositoryContract, UserRepositoryContract, objection


class TestSQLiteReviewRepository(ReviewRepositoryContract):
    @pytest.fixture
    def make_repo(self, tmp_path: Path) -> Callable[[], ReviewRepository]:
        return lambda: SQLiteReviewRepository(tmp_path / "review.sqlite3")


class TestSQLiteUserRepository(UserRepositoryContract):
    @pytest.fixture
    def make_repo(self, tmp_path: Path) -> Callable[[], UserRepository]:
        return lambda: SQLiteUserRepository(tmp_path / "users.sqlite3")


def test_the_settings_open_the_files_under_the_var_dir(tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path / "var")
    review = open_review_repository(settings)
    users = open_user_repository(settings)
    assert isinstance(review, SQLiteReviewRepository) and review.path == tmp_path / "var" / "review.sqlite3"
    assert review.var_dir == tmp_path / "var"
    assert isinstance(users, SQLiteUserRepository) and users.path == tmp_path / "var" / "users.sqlite3"


def test_a_review_file_from_before_the_result_receipt_date_keeps_its_objections(tmp_path: Path) -> None:
    """An objection recorded before the producer's receipt date was kept reads back with that date unknown."""
    path = tmp_path / "review.sqlite3"
    old = SQLiteFile(path, MIGRATIONS[:1])
    row = objection("o1", "c1", "2026-05-02T00:00:00.000000+00:00").public()
    del row["result_received_at"]
    with old.connect() as conn:
        conn.execute(
            f"INSERT INTO objections ({', '.join(row)}) VALUES ({', '.join('?' for _ in row)})", list(row.values())
        )
    repo = SQLiteReviewRepository(path)
    assert repo.get_objection("o1") == objection("o1", "c1", "2026-05-02T00:00:00.000000+00:00")


def test_a_users_file_from_before_login_throttling_keeps_its_users_and_gains_counters(tmp_path: Path) -> None:
    """A users.sqlite3 at schema version 2 (before the login counters) is migrated in place."""
    path = tmp_path / "users.sqlite3"
    old = SQLiteFile(path, USER_MIGRATIONS[:2])
    assert old.version == 2
    with old.connect() as conn:
        conn.execute(
            "INSERT INTO users (id, username, password_hash, role, created_at) VALUES ('u1', 'li', 'h', 'analyst', 'x')"
        )
    repo = SQLiteUserRepository(path)
    assert repo.file.version == len(USER_MIGRATIONS) == 4
    assert repo.credentials("li") is not None
    assert repo.login_throttle("account:li") is None


def test_without_its_generation_row_the_users_generation_never_repeats(tmp_path: Path) -> None:
    """A generation row deleted by hand must not freeze the generation (and with it every process's cache)."""
    repo = SQLiteUserRepository(tmp_path / "users.sqlite3")
    assert repo.generation() == repo.generation() == 0
    with repo.file.connect() as conn:
        conn.execute("DELETE FROM users_generation")
    assert repo.generation() != repo.generation()
