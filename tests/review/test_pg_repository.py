"""The PostgreSQL backends of the review and user repositories pass the same contracts as SQLite, against a real
server started for the session (tests/pg_server.py); the audit log refuses UPDATE, DELETE and TRUNCATE there."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from riskmine.review.records import AuditQuery, User
from riskmine.review.repository import ReviewRepository, UserRepository, open_review_repository, open_user_repository
from riskmine.review.roles import Role
from riskmine.settings import Settings

from .repository_contract import ReviewRepositoryContract, UserRepositoryContract, entry

pytestmark = pytest.mark.integration
psycopg = pytest.importorskip("psycopg", reason="the PostgreSQL driver is not installed: pip install -e '.[pg]'")

from riskmine.review.pg_repository import PgReviewRepository, PgUserRepository  # noqa: E402


class TestPgReviewRepository(ReviewRepositoryContract):
    @pytest.fixture
    def make_repo(self, postgres_url: str, tmp_path: Path) -> Callable[[], ReviewRepository]:
        return lambda: PgReviewRepository(postgres_url, var_dir=tmp_path)


class TestPgUserRepository(UserRepositoryContract):
    @pytest.fixture
    def make_repo(self, postgres_url: str) -> Callable[[], UserRepository]:
        return lambda: PgUserRepository(postgres_url)


def test_the_database_url_setting_chooses_postgresql(postgres_url: str, tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path / "var", database_url=postgres_url)
    review = open_review_repository(settings)
    assert isinstance(review, PgReviewRepository) and review.var_dir == tmp_path / "var"
    assert isinstance(open_user_repository(settings), PgUserRepository)
    assert not (tmp_path / "var" / "review.sqlite3").exists()


@pytest.mark.parametrize(
    ("statement", "operation"),
    [
        ("UPDATE audit SET actor = 'mallory'", "UPDATE"),
        ("DELETE FROM audit", "DELETE"),
        ("TRUNCATE audit", "TRUNCATE"),
    ],
)
def test_the_audit_log_is_append_only_for_anyone(
    postgres_url: str, tmp_path: Path, statement: str, operation: str
) -> None:
    repo = PgReviewRepository(postgres_url, var_dir=tmp_path)
    repo.append_audit(entry("candidate.assign", "c1"))
    with psycopg.connect(postgres_url) as conn:  # the superuser, straight to the table
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match=f"append-only.*{operation}"):
            conn.execute(statement)
        conn.rollback()
    events, total = repo.audit_events(AuditQuery(), limit=10, offset=0)
    assert total == 1 and events[0].actor == "li"


# docs/postgresql.md: the role riskmine runs as may append to the audit log but not change or delete it.
APP_ROLE_GRANTS = """
GRANT USAGE ON SCHEMA public TO {role};
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role};
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role};
REVOKE UPDATE, DELETE, TRUNCATE ON audit FROM {role};
"""


def test_the_documented_app_role_appends_to_the_audit_log_but_cannot_change_it(
    postgres_url: str, tmp_path: Path
) -> None:
    from riskmine.store.postgres import close_pool

    PgReviewRepository(postgres_url, var_dir=tmp_path)  # the owner creates the tables
    role = "app_" + postgres_url.rsplit("/", 1)[1]
    app_url = postgres_url.replace("://riskmine@", f"://{role}@")
    with psycopg.connect(postgres_url, autocommit=True) as owner:
        owner.execute(f"CREATE ROLE {role} LOGIN")
        owner.execute(APP_ROLE_GRANTS.format(role=role))
    try:
        repo = PgReviewRepository(app_url, var_dir=tmp_path)  # the schema is current: no DDL needed
        repo.append_audit(entry("candidate.assign", "c1"))
        assert repo.audit_events(AuditQuery(), limit=10, offset=0)[1] == 1
        with psycopg.connect(app_url) as conn:
            for statement in ("UPDATE audit SET actor = 'x'", "DELETE FROM audit", "TRUNCATE audit"):
                with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied"):
                    conn.execute(statement)
                conn.rollback()
    finally:
        close_pool(app_url)
        with psycopg.connect(postgres_url, autocommit=True) as owner:
            owner.execute(f"DROP OWNED BY {role}")
            owner.execute(f"DROP ROLE {role}")


def test_the_users_generation_is_read_again_after_the_server_drops_the_connections(postgres_url: str) -> None:
    """The connection kept for the generation is lost (a server restart): the read goes on, through the pool."""
    repo = PgUserRepository(postgres_url)
    repo.add_user(User("u1", "li", Role.analyst), "h", "2026-05-01T00:00:00+00:00")
    first = repo.generation()
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    assert repo.generation() == first
    assert PgUserRepository(postgres_url).set_role("li", Role.viewer)
    assert repo.generation() != first
