"""The review state and the users in embedded SQLite files (``<var_dir>/review.sqlite3``, ``users.sqlite3``).

Each call opens its own short-lived connection (safe across threads and processes). The queries are shared with
the PostgreSQL backend (:mod:`riskmine.review.sql_repository`); a change and its audit entry are written in one
transaction. Triggers abort any UPDATE or DELETE on the audit table.
"""

from __future__ import annotations

import sqlite3
from contextlib import AbstractContextManager
from pathlib import Path

from riskmine.review.sql_repository import Connection, SQLReviewRepository, SQLUserRepository
from riskmine.store.local import SQLiteFile, script

_SCHEMA = """
CREATE TABLE IF NOT EXISTS orgs (
    name TEXT PRIMARY KEY,
    level TEXT NOT NULL,
    parent TEXT REFERENCES orgs(name),
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS orgs_parent ON orgs(parent);
CREATE TABLE IF NOT EXISTS comments (
    id TEXT PRIMARY KEY,
    candidate_id TEXT NOT NULL,
    author TEXT NOT NULL,
    text TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS comments_candidate ON comments(candidate_id, created_at);
CREATE TABLE IF NOT EXISTS objections (
    id TEXT PRIMARY KEY,
    candidate_id TEXT NOT NULL,
    decision_id TEXT NOT NULL,
    objector TEXT NOT NULL,
    objector_kind TEXT NOT NULL,
    text TEXT NOT NULL,
    received_at TEXT NOT NULL,
    deadline TEXT NOT NULL,
    recorded_by TEXT NOT NULL,
    status TEXT NOT NULL,
    answer TEXT,
    answered_by TEXT,
    answered_at TEXT
);
CREATE INDEX IF NOT EXISTS objections_candidate ON objections(candidate_id);
CREATE TABLE IF NOT EXISTS advisories (
    id TEXT PRIMARY KEY,
    candidate_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    status TEXT NOT NULL,
    organisation TEXT,
    drafted_by TEXT NOT NULL,
    drafted_at TEXT NOT NULL,
    approved_by TEXT,
    published_at TEXT
);
CREATE INDEX IF NOT EXISTS advisories_status ON advisories(status, kind, published_at);
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    actor_role TEXT,
    action TEXT NOT NULL,
    target_kind TEXT NOT NULL,
    target_id TEXT,
    before TEXT,
    after TEXT
);
CREATE INDEX IF NOT EXISTS audit_target ON audit(target_kind, target_id);
CREATE INDEX IF NOT EXISTS audit_at ON audit(at);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: records cannot be changed'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: records cannot be deleted'); END;
"""

_USERS_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    id TEXT PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    organisation TEXT,
    disabled INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS api_keys (
    id TEXT PRIMARY KEY,
    key_hash TEXT NOT NULL UNIQUE,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    last_used_at TEXT
);
"""

# Append only: each entry upgrades its file by one schema version.
MIGRATIONS = [
    script(_SCHEMA),
    script("ALTER TABLE objections ADD COLUMN result_received_at TEXT;"),  # when the objector received the result
]
USER_MIGRATIONS = [
    script(_USERS_SCHEMA),
    # bumped on a password change: tokens issued under an older version are refused
    script("ALTER TABLE users ADD COLUMN token_version INTEGER NOT NULL DEFAULT 0;"),
    # failed logins per account and per client (riskmine.review.login_guard), shared by every process
    script(
        "CREATE TABLE IF NOT EXISTS login_throttle (key TEXT PRIMARY KEY, failures INTEGER NOT NULL,"
        " last_failure_at TEXT NOT NULL, locked_until TEXT);"
    ),
]


class SQLiteReviewRepository(SQLReviewRepository):
    """The review tables in one SQLite file (implements :class:`~riskmine.review.repository.ReviewRepository`)."""

    integrity_errors = (sqlite3.IntegrityError,)

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.var_dir = self.path.parent
        self.file = SQLiteFile(self.path, MIGRATIONS)

    def _connect(self) -> AbstractContextManager[sqlite3.Connection]:
        return self.file.connect()


class SQLiteUserRepository(SQLUserRepository):
    """The users and api_keys tables in one SQLite file (implements
    :class:`~riskmine.review.repository.UserRepository`)."""

    integrity_errors = (sqlite3.IntegrityError,)

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.file = SQLiteFile(self.path, USER_MIGRATIONS)

    def _connect(self) -> AbstractContextManager[sqlite3.Connection]:
        return self.file.connect()

    def _lock_throttle(self, db: Connection, key: str) -> None:
        db.execute("BEGIN IMMEDIATE")  # the whole file: SQLite has no finer write lock
