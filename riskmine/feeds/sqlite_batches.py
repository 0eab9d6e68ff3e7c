"""The station batch registry in an embedded SQLite file (<var_dir>/stations/batches.sqlite3).

The record's columns that are searched or ordered on are table columns; the rest of a record lives in
the JSON ``body``.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import asdict
from pathlib import Path

from riskmine.feeds.batches import BatchRecord, batch_id, check_status, lease_end, lease_expired
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

# Columns of the table; everything else of a record lives in the JSON 'body'.
_COLUMNS = (
    "id",
    "station",
    "sha256",
    "filename",
    "kind",
    "status",
    "submitted_by",
    "created_at",
    "finished_at",
    "lease_until",
)


class SQLiteBatchRegistry:
    """The batches received, in a SQLite file (implements :class:`~riskmine.feeds.batches.BatchRegistry`)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.file = SQLiteFile(self.path, MIGRATIONS, timeout=30.0)

    @staticmethod
    def _record(row: sqlite3.Row) -> BatchRecord:
        body = json.loads(row["body"] or "{}")
        return BatchRecord(**{**body, **{c: row[c] for c in _COLUMNS}})

    def claim(
        self,
        station: str,
        sha256: str,
        kind: str,
        *,
        filename: str | None = None,
        submitted_by: str | None = None,
        lease_seconds: float = 60.0,
    ) -> tuple[BatchRecord, bool]:
        """The batch for these bytes and whether this call now receives it (see BatchRegistry.claim)."""
        record = BatchRecord(id=batch_id(station, sha256), station=station, sha256=sha256, kind=kind, filename=filename)
        record.submitted_by = submitted_by
        with self.file.connect() as db:
            db.execute("BEGIN IMMEDIATE")
            row = db.execute("SELECT * FROM batches WHERE id = ?", (record.id,)).fetchone()
            if row is not None:
                found = self._record(row)
                if lease_expired(found):  # its receiver died: this caller takes it over
                    found.attempts += 1
                    found.lease_until = lease_end(lease_seconds)
                    self._update(db, found)
                    return found, True
                if found.status != "failed":
                    return found, False
                record.attempts = found.attempts + 1
            record.lease_until = lease_end(lease_seconds)
            db.execute("DELETE FROM batches WHERE id = ?", (record.id,))
            db.execute(
                "INSERT INTO batches (id, station, sha256, filename, kind, status, submitted_by, created_at, body)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, '{}')",
                (record.id, station, sha256, filename, kind, record.status, submitted_by, record.created_at),
            )
            self._update(db, record)
        return record, True

    def renew(self, batch_id: str, lease_seconds: float) -> bool:
        with self.file.connect() as db:
            cursor = db.execute(
                "UPDATE batches SET lease_until = ? WHERE id = ? AND status = 'received'",
                (lease_end(lease_seconds), batch_id),
            )
            return cursor.rowcount > 0

    def receiving(self) -> list[BatchRecord]:
        with self.file.connect() as db:
            rows = db.execute("SELECT * FROM batches WHERE status = 'received' ORDER BY created_at, id").fetchall()
        return [self._record(r) for r in rows]

    def save(self, record: BatchRecord) -> None:
        """Store the record's status and results (a finished batch holds no lease)."""
        check_status(record)
        if record.status != "received":
            record.lease_until = None
        with self.file.connect() as db:
            self._update(db, record)

    @staticmethod
    def _update(db: sqlite3.Connection, record: BatchRecord) -> None:
        body = {k: v for k, v in asdict(record).items() if k not in _COLUMNS}
        db.execute(
            "UPDATE batches SET status = ?, finished_at = ?, lease_until = ?, body = ? WHERE id = ?",
            (
                record.status,
                record.finished_at,
                record.lease_until,
                json.dumps(body, ensure_ascii=False),
                record.id,
            ),
        )

    def discard(self, batch_id: str) -> None:
        """Forget a batch that stored nothing (its file could not be read at all)."""
        with self.file.connect() as db:
            db.execute("DELETE FROM batches WHERE id = ?", (batch_id,))

    def get(self, batch_id: str, station: str | None = None) -> BatchRecord | None:
        with self.file.connect() as db:
            row = db.execute("SELECT * FROM batches WHERE id = ?", (batch_id,)).fetchone()
        if row is None or (station is not None and row["station"] != station):
            return None
        return self._record(row)

    def list(self, station: str | None = None, *, limit: int = 50, offset: int = 0) -> tuple[list[BatchRecord], int]:
        """Batches, newest first, and how many there are in all."""
        where, args = ("WHERE station = ?", [station]) if station is not None else ("", [])
        with self.file.connect() as db:
            total = int(db.execute(f"SELECT COUNT(*) FROM batches {where}", args).fetchone()[0])
            rows = db.execute(
                f"SELECT * FROM batches {where} ORDER BY created_at DESC, id LIMIT ? OFFSET ?", [*args, limit, offset]
            ).fetchall()
        return [self._record(r) for r in rows], total
