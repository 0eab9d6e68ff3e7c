"""The station batch registry in a shared PostgreSQL database (``RISKMINE_DATABASE_URL``), for several API nodes.

The same table and queries as the SQLite registry (:mod:`riskmine.feeds.sql_batches`). A claim is race-free across
processes and nodes: the batch's row is inserted if absent (``ON CONFLICT DO NOTHING``), else locked
(``SELECT ... FOR UPDATE``) while this claimer decides whether it takes the batch over, so of several claimers
exactly one receives it.
"""

from __future__ import annotations

from contextlib import AbstractContextManager

from riskmine.feeds.batches import BatchRecord
from riskmine.feeds.sql_batches import Connection, SQLBatchRegistry, insert_row, record_of
from riskmine.store.postgres import PostgresDatabase, QmarkConnection

_SCHEMA = """
CREATE TABLE batches (
    id TEXT COLLATE "C" PRIMARY KEY,
    station TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    filename TEXT,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    submitted_by TEXT,
    created_at TEXT COLLATE "C" NOT NULL,
    finished_at TEXT,
    lease_until TEXT,
    body TEXT NOT NULL DEFAULT '{}',
    UNIQUE (station, sha256)
);
CREATE INDEX batches_station_created ON batches (station, created_at);
CREATE INDEX batches_status ON batches (status, created_at);
"""

# Append only: each entry upgrades the component by one schema version.
MIGRATIONS = [_SCHEMA]


class PgBatchRegistry(SQLBatchRegistry):
    """The batches received, in PostgreSQL (implements :class:`~riskmine.feeds.batches.BatchRegistry`)."""

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.db = PostgresDatabase(url, "batches", MIGRATIONS, pool_size=pool_size)

    def _connect(self) -> AbstractContextManager[QmarkConnection]:
        return self.db.connect()

    def _take(self, db: Connection, record: BatchRecord) -> BatchRecord | None:
        while True:
            if insert_row(db, record, " ON CONFLICT DO NOTHING RETURNING id").fetchone() is not None:
                return None
            row = db.execute("SELECT * FROM batches WHERE id = ? FOR UPDATE", (record.id,)).fetchone()
            if row is not None:
                return record_of(row)
            # discarded between the insert and the lock: try again
