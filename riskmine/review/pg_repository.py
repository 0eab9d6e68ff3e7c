"""The review state and the users in a shared PostgreSQL database (``RISKMINE_DATABASE_URL``), for several API
nodes that must agree.

The same tables as the SQLite files and the same queries (:mod:`riskmine.review.sql_repository`); the tables are
created and upgraded by the migration lists below (:class:`~riskmine.store.postgres.PostgresDatabase`). Text that
is ordered or compared is ``COLLATE "C"`` (code-point order, as SQLite sorts), whatever the database's locale.
Triggers refuse any UPDATE, DELETE or TRUNCATE of the audit table, whoever asks (docs/postgresql.md also sets up
a role without those privileges).
"""

from __future__ import annotations

import os
import threading
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import psycopg

from riskmine.review.sql_repository import (
    GENERATION_QUERY,
    Connection,
    SQLReviewRepository,
    SQLUserRepository,
    generation_of,
)
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
USER_MIGRATIONS = [
    _USERS_SCHEMA,
    # the users' generation (SQLUserRepository.generation): bumped by triggers on every change of a user's or a
    # key's standing, whoever writes it, so that each process's cache of resolved principals sees it at once
    """
CREATE TABLE users_generation (id INTEGER PRIMARY KEY CHECK (id = 1), generation BIGINT NOT NULL);
INSERT INTO users_generation (id, generation) VALUES (1, 0);
CREATE FUNCTION riskmine_users_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE users_generation SET generation = generation + 1 WHERE id = 1;
    RETURN NULL;
END;
$$;
CREATE TRIGGER users_changed AFTER UPDATE OF username, role, organisation, disabled, token_version OR DELETE
    ON users FOR EACH STATEMENT EXECUTE FUNCTION riskmine_users_changed();
CREATE TRIGGER users_truncated AFTER TRUNCATE ON users FOR EACH STATEMENT EXECUTE FUNCTION riskmine_users_changed();
CREATE TRIGGER api_keys_changed AFTER UPDATE OF key_hash, user_id, revoked OR DELETE
    ON api_keys FOR EACH STATEMENT EXECUTE FUNCTION riskmine_users_changed();
CREATE TRIGGER api_keys_truncated AFTER TRUNCATE ON api_keys
    FOR EACH STATEMENT EXECUTE FUNCTION riskmine_users_changed();
""",
]


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
        # one connection kept (autocommit) for reading the generation on every request in one round trip; a pooled
        # one costs a check, the read and a commit
        self._kept: tuple[int, psycopg.Connection[Any]] | None = None
        self._kept_lock = threading.Lock()

    def _connect(self) -> AbstractContextManager[QmarkConnection]:
        return self.db.connect()

    def generation(self) -> int:
        with self._kept_lock:
            try:
                if self._kept is None or self._kept[0] != os.getpid():  # a forked child opens its own
                    self._kept = (os.getpid(), psycopg.connect(self.db.url, autocommit=True, connect_timeout=10))
                row = self._kept[1].execute(GENERATION_QUERY).fetchone()
                return generation_of(row[0] if row else None)
            except (psycopg.OperationalError, psycopg.InterfaceError):
                self._drop_kept()  # a lost connection (a server restart): read through the pool, reconnect next time
        return super().generation()

    def _drop_kept(self) -> None:
        if self._kept is not None and self._kept[0] == os.getpid():
            self._kept[1].close()
        self._kept = None

    def close(self) -> None:
        with self._kept_lock:
            self._drop_kept()

    def _lock_throttle(self, db: Connection, key: str) -> None:
        # one key's lock, held to the end of the transaction (a row lock cannot hold a row not there yet)
        db.execute("SELECT pg_advisory_xact_lock(?)", (advisory_key("login_throttle:" + key),))
