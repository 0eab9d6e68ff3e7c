"""The review state and the users in embedded SQLite files (``<var_dir>/review.sqlite3``, ``users.sqlite3``).

Each call opens its own short-lived connection (safe across threads and processes). The queries are shared with
the PostgreSQL backend (:mod:`riskmine.review.sql_repository`); a change and its audit entry are written in one
transaction. Triggers abort any UPDATE or DELETE on the audit table.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from contextlib import AbstractContextManager
from pathlib import Path

from riskmine.review.sql_repository import (
    GENERATION_QUERY,
    Connection,
    SQLReviewRepository,
    SQLUserRepository,
    generation_of,
)
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
    # the users' generation (SQLUserRepository.generation): bumped by triggers on every change of a user's or a
    # key's standing, whoever writes it, so that each process's cache of resolved principals sees it at once
    script(
        """
CREATE TABLE IF NOT EXISTS users_generation (id INTEGER PRIMARY KEY CHECK (id = 1), generation INTEGER NOT NULL);
INSERT OR IGNORE INTO users_generation (id, generation) VALUES (1, 0);
CREATE TRIGGER IF NOT EXISTS users_changed AFTER UPDATE OF username, role, organisation, disabled, token_version
    ON users BEGIN UPDATE users_generation SET generation = generation + 1; END;
CREATE TRIGGER IF NOT EXISTS users_deleted AFTER DELETE ON users
    BEGIN UPDATE users_generation SET generation = generation + 1; END;
CREATE TRIGGER IF NOT EXISTS api_keys_changed AFTER UPDATE OF key_hash, user_id, revoked ON api_keys
    BEGIN UPDATE users_generation SET generation = generation + 1; END;
CREATE TRIGGER IF NOT EXISTS api_keys_deleted AFTER DELETE ON api_keys
    BEGIN UPDATE users_generation SET generation = generation + 1; END;
"""
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
        # one connection kept for reading the generation on every request (opening one costs more than the read)
        self._kept: tuple[int, sqlite3.Connection] | None = None
        self._kept_lock = threading.Lock()

    def _connect(self) -> AbstractContextManager[sqlite3.Connection]:
        return self.file.connect()

    def generation(self) -> int:
        with self._kept_lock:
            if self._kept is None or self._kept[0] != os.getpid():  # a forked child opens its own
                conn = sqlite3.connect(str(self.path), timeout=self.file.timeout, check_same_thread=False)
                conn.isolation_level = None  # autocommit: every read sees the latest commit of any process
                self._kept = (os.getpid(), conn)
            row = self._kept[1].execute(GENERATION_QUERY).fetchone()
        return generation_of(row[0] if row else None)

    def close(self) -> None:
        with self._kept_lock:
            if self._kept is not None and self._kept[0] == os.getpid():
                self._kept[1].close()
            self._kept = None

    def _lock_throttle(self, db: Connection, key: str) -> None:
        db.execute("BEGIN IMMEDIATE")  # the whole file: SQLite has no finer write lock
