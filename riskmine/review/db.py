"""The review database (<var_dir>/review.sqlite3): organisations, comments, objections, advisories, audit.

This module owns the connection; every other review module goes through :class:`ReviewDB`.
Each call opens its own short-lived connection (safe across threads, like the user store).
The audit table is append-only: triggers abort any UPDATE or DELETE on it.
"""

from __future__ import annotations

import sqlite3
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from riskmine.store.local import SQLiteFile, script

REVIEW_FILE = "review.sqlite3"

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


def now_utc() -> datetime:
    return datetime.now(UTC)


# Append only: each entry upgrades the file by one schema version.
MIGRATIONS = [script(_SCHEMA)]


def iso(value: datetime) -> str:
    """An aware datetime as ISO-8601 in UTC (naive values are taken as UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def parse_iso(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


class ReviewDB:
    """The review tables in one SQLite file."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.file = SQLiteFile(self.path, MIGRATIONS)

    @classmethod
    def from_settings(cls, settings: Any) -> ReviewDB:
        return cls(Path(settings.var_dir) / REVIEW_FILE)

    def connect(self) -> AbstractContextManager[sqlite3.Connection]:
        """A connection in a transaction: committed when the block ends, rolled back on an error."""
        return self.file.connect()
