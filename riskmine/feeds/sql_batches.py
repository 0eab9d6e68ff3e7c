"""The station batch registry written once, in SQL that SQLite and PostgreSQL both run.

A backend (:mod:`riskmine.feeds.sqlite_batches`, :mod:`riskmine.feeds.pg_batches`) supplies its table (its
migrations), a connection in a transaction per call (``?`` placeholders, rows read by column name) and how a claim
takes hold of a batch's row: inserted when absent, else locked against every other claimer until the claim's
transaction ends. The record's columns that are searched or ordered on are table columns; the rest of a record
lives in the JSON text ``body``.
"""

from __future__ import annotations

import json
from contextlib import AbstractContextManager
from dataclasses import asdict
from typing import Any

from riskmine.feeds.batches import BatchRecord, batch_id, check_status, lease_end, lease_expired

# Columns of the table; everything else of a record lives in the JSON 'body'.
COLUMNS = (
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
_SET = ", ".join(f"{c} = ?" for c in COLUMNS if c != "id")

# A connection of either driver (sqlite3, or psycopg through riskmine.store.postgres), and a row of it.
Connection = Any
Row = Any


def record_of(row: Row) -> BatchRecord:
    body = json.loads(row["body"] or "{}")
    return BatchRecord(**{**body, **{c: row[c] for c in COLUMNS}})


def insert_row(db: Connection, record: BatchRecord, suffix: str = "") -> Any:
    """Insert the batch's row (its body is written by :func:`write`); ``suffix`` ends the statement."""
    return db.execute(
        "INSERT INTO batches (id, station, sha256, filename, kind, status, submitted_by, created_at, body)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, '{}')" + suffix,
        (
            record.id,
            record.station,
            record.sha256,
            record.filename,
            record.kind,
            record.status,
            record.submitted_by,
            record.created_at,
        ),
    )


def write(db: Connection, record: BatchRecord) -> None:
    """Store every field of the record in its row."""
    body = {k: v for k, v in asdict(record).items() if k not in COLUMNS}
    values = [getattr(record, c) for c in COLUMNS if c != "id"]
    db.execute(
        f"UPDATE batches SET {_SET}, body = ? WHERE id = ?", [*values, json.dumps(body, ensure_ascii=False), record.id]
    )


class SQLBatchRegistry:
    """The batches received, in SQL (a backend subclasses it; implements
    :class:`~riskmine.feeds.batches.BatchRegistry`)."""

    def _connect(self) -> AbstractContextManager[Connection]:
        """A connection in a transaction: committed when the block ends, rolled back on an error."""
        raise NotImplementedError

    def _take(self, db: Connection, record: BatchRecord) -> BatchRecord | None:
        """Insert ``record``'s row and answer None, or, when the batch is recorded already, answer that record with
        its row locked against every other claimer until this transaction ends."""
        raise NotImplementedError

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
        record.lease_until = lease_end(lease_seconds)
        with self._connect() as db:
            found = self._take(db, record)
            if found is not None:
                if lease_expired(found):  # its receiver died: this caller takes it over
                    found.attempts += 1
                    found.lease_until = lease_end(lease_seconds)
                    write(db, found)
                    return found, True
                if found.status != "failed":
                    return found, False
                record.attempts = found.attempts + 1  # a failed batch is received afresh
            write(db, record)
        return record, True

    def renew(self, batch_id: str, lease_seconds: float) -> bool:
        with self._connect() as db:
            cursor = db.execute(
                "UPDATE batches SET lease_until = ? WHERE id = ? AND status = 'received'",
                (lease_end(lease_seconds), batch_id),
            )
            return bool(cursor.rowcount > 0)

    def receiving(self) -> list[BatchRecord]:
        with self._connect() as db:
            rows = db.execute("SELECT * FROM batches WHERE status = 'received' ORDER BY created_at, id").fetchall()
        return [record_of(r) for r in rows]

    def save(self, record: BatchRecord) -> None:
        """Store the record's status and results (a finished batch holds no lease)."""
        check_status(record)
        if record.status != "received":
            record.lease_until = None
        with self._connect() as db:
            write(db, record)

    def discard(self, batch_id: str) -> None:
        """Forget a batch that stored nothing (its file could not be read at all)."""
        with self._connect() as db:
            db.execute("DELETE FROM batches WHERE id = ?", (batch_id,))

    def get(self, batch_id: str, station: str | None = None) -> BatchRecord | None:
        with self._connect() as db:
            row = db.execute("SELECT * FROM batches WHERE id = ?", (batch_id,)).fetchone()
        if row is None or (station is not None and row["station"] != station):
            return None
        return record_of(row)

    def list(self, station: str | None = None, *, limit: int = 50, offset: int = 0) -> tuple[list[BatchRecord], int]:
        """Batches, newest first, and how many there are in all."""
        where, args = ("WHERE station = ?", [station]) if station is not None else ("", [])
        with self._connect() as db:
            total = int(db.execute(f"SELECT COUNT(*) AS n FROM batches {where}", args).fetchone()["n"])
            rows = db.execute(
                f"SELECT * FROM batches {where} ORDER BY created_at DESC, id LIMIT ? OFFSET ?", [*args, limit, offset]
            ).fetchall()
        return [record_of(r) for r in rows], total
