"""The station batch registry in an embedded SQLite file (<var_dir>/stations/batches.sqlite3).

The queries are shared with the PostgreSQL registry (:mod:`riskmine.feeds.sql_batches`); a claim takes the
file's write lock (``BEGIN IMMEDIATE``) while it decides.
"""

from __future__ import annotations

import sqlite3
from contextlib import AbstractContextManager
from pathlib import Path

from riskmine.feeds.batches import BatchRecord
from riskmine.feeds.sql_batches import Connection, SQLBatchRegistry, insert_row, record_of
from riskmine.store.local import SQLiteFile, script

_SCHEMA = """
CREATE TABLE IF NOT EXISTS batches (
    id TEXT PRIMARY KEY,
    station TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    filename TEXT,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    submitted_by TEXT,
    created_at TEXT NOT NULL,
    finished_at TEXT,
    body TEXT NOT NULL DEFAULT '{}',
    UNIQUE (station, sha256)
);
CREATE INDEX IF NOT EXISTS batches_station_created ON batches (station, created_at);
"""

# Append only: each entry upgrades the file by one schema version.
MIGRATIONS = [
    script(_SCHEMA),
    # 2: leases, so that a batch whose receiver died is taken over
    script(
        "ALTER TABLE batches ADD COLUMN lease_until TEXT;\n"
        "CREATE INDEX IF NOT EXISTS batches_status ON batches (status, created_at);\n"
    ),
]


class SQLiteBatchRegistry(SQLBatchRegistry):
    """The batches received, in a SQLite file (implements :class:`~riskmine.feeds.batches.BatchRegistry`)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.file = SQLiteFile(self.path, MIGRATIONS, timeout=30.0)

    def _connect(self) -> AbstractContextManager[sqlite3.Connection]:
        return self.file.connect()

    def _take(self, db: Connection, record: BatchRecord) -> BatchRecord | None:
        db.execute("BEGIN IMMEDIATE")  # the whole file: SQLite has no finer write lock
        row = db.execute("SELECT * FROM batches WHERE id = ?", (record.id,)).fetchone()
        if row is not None:
            return record_of(row)
        insert_row(db, record)
        return None
