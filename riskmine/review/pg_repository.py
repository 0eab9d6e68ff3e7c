"""The review state and the users in a shared PostgreSQL database (``RISKMINE_DATABASE_URL``), for several API
nodes that must agree.

The same tables as the SQLite files and the same queries (:mod:`riskmine.review.sql_repository`); the tables are
created and upgraded by the migration lists below (:class:`~riskmine.store.postgres.PostgresDatabase`). Text that
is ordered or compared is ``COLLATE "C"`` (code-point order, as SQLite sorts), whatever the database's locale.
Triggers refuse any UPDATE, DELETE or TRUNCATE of the audit table, whoever asks (docs/postgresql.md also sets up
a role without those privileges).
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path

import psycopg

from riskmine.review.sql_repository import Connection, SQLReviewRepository, SQLUserRepository
from riskmine.store.postgres import PostgresDatabase, QmarkConnection, advisory_key

_SCHEMA = """
CREATE TABLE orgs (
    name TEXT COLLATE "C" PRIMARY KEY,
    level TEXT NOT NULL,
    parent TEXT COLLATE "C" REFERENCES orgs(name),
    created_at TEXT NOT NULL
);
CREATE INDEX orgs_parent ON orgs(parent);
CREATE TABLE comments (
    id TEXT COLLATE "C" PRIMARY KEY,
    candidate_id TEXT NOT NULL,
    author TEXT NOT NULL,
    text TEXT NOT NULL,
    created_at TEXT COLLATE "C" NOT NULL
);
CREATE INDEX comments_candidate ON comments(candidate_id, created_at);
CREATE TABLE objections (
    id TEXT COLLATE "C" PRIMARY KEY,
    candidate_id TEXT NOT NULL,
    decision_id TEXT NOT NULL,
    objector TEXT NOT NULL,
    objector_kind TEXT NOT NULL,
    text TEXT NOT NULL,
    received_at TEXT COLLATE "C" NOT NULL,
    deadline TEXT NOT NULL,
    recorded_by TEXT NOT NULL,
    status TEXT NOT NULL,
    answer TEXT,
    answered_by TEXT,
    answered_at TEXT,
    result_received_at TEXT
);
CREATE INDEX objections_candidate ON objections(candidate_id);
CREATE TABLE advisories (
    id TEXT COLLATE "C" PRIMARY KEY,
    candidate_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    status TEXT NOT NULL,
    organisation TEXT,
    drafted_by TEXT NOT NULL,
    drafted_at TEXT COLLATE "C" NOT NULL,
    approved_by TEXT,
    published_at TEXT COLLATE "C"
);
CREATE INDEX advisories_status ON advisories(status, kind, published_at);
CREATE TABLE audit (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at TEXT COLLATE "C" NOT NULL,
    actor TEXT NOT NULL,
    actor_role TEXT,
    action TEXT NOT NULL,
    target_kind TEXT NOT NULL,
    target_id TEXT,
    before TEXT,
    after TEXT
);
CREATE INDEX audit_target ON audit(target_kind, target_id);
CREATE INDEX audit_at ON audit(at);
CREATE FUNCTION riskmine_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only: records cannot be changed or deleted (%)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER audit_no_update_or_delete BEFORE UPDATE OR DELETE ON audit
    FOR EACH ROW EXECUTE FUNCTION riskmine_audit_append_only();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
    FOR EACH STATEMENT EXECUTE FUNCTION riskmine_audit_append_only();
"""

_USERS_SCHEMA = """
CREATE TABLE users (
    id TEXT PRIMARY KEY,
    username TEXT COLLATE "C" NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    organisation TEXT,
    disabled INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    token_version INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    key_hash TEXT NOT NULL UNIQUE,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0,
    created_at TEXT COLLATE "C" NOT NULL,
    last_used_at TEXT
);
CREATE INDEX api_keys_user ON api_keys(user_id, created_at);
CREATE TABLE login_throttle (
    key TEXT PRIMARY KEY,
    failures INTEGER NOT NULL,
    last_failure_at TEXT NOT NULL,
    locked_until TEXT
);
"""

# Append only: each entry upgrades the component by one schema version.
MIGRATIONS = [_SCHEMA]
USER_MIGRATIONS = [_USERS_SCHEMA]


class PgReviewRepository(SQLReviewRepository):
    """The review tables in PostgreSQL (implements :class:`~riskmine.review.repository.ReviewRepository`)."""

    integrity_errors = (psycopg.IntegrityError,)

    def __init__(self, url: str, *, var_dir: Path, pool_size: int = 10) -> None:
        self.var_dir = Path(var_dir)
        self.database_url, self.pool_size = url, pool_size  # the alert outbox lives in the same database
        self.db = PostgresDatabase(url, "review", MIGRATIONS, pool_size=pool_size)

    def _connect(self) -> AbstractContextManager[QmarkConnection]:
        return self.db.connect()


class PgUserRepository(SQLUserRepository):
    """The users, api_keys and login_throttle tables in PostgreSQL (implements
    :class:`~riskmine.review.repository.UserRepository`)."""

    integrity_errors = (psycopg.IntegrityError,)

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.db = PostgresDatabase(url, "users", USER_MIGRATIONS, pool_size=pool_size)

    def _connect(self) -> AbstractContextManager[QmarkConnection]:
        return self.db.connect()

    def _lock_throttle(self, db: Connection, key: str) -> None:
        # one key's lock, held to the end of the transaction (a row lock cannot hold a row not there yet)
        db.execute("SELECT pg_advisory_xact_lock(?)", (advisory_key("login_throttle:" + key),))
