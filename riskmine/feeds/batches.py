"""Station batches: what each monitoring station uploaded, kept in a small SQLite registry
(<var_dir>/stations/batches.sqlite3), and the reading of one upload through the feed readers.

A batch is identified by its station and the SHA-256 of its bytes: the same file sent again by
the same station is the same batch, so re-sending adds nothing and answers with the batch already
recorded. A batch moves from ``received`` to ``done`` (every row accepted), ``partial`` (some rows
rejected), ``rejected`` (no row accepted) or ``failed`` (an error while storing or processing; a
failed batch may be sent again).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from riskmine.feeds import EXTENSIONS, UnsupportedFileType
from riskmine.schema import stable_id
from riskmine.store.local import SQLiteFile, script

__all__ = [
    "BATCH_STATUSES",
    "MAX_STORED_REJECTIONS",
    "BatchRecord",
    "BatchRegistry",
    "batch_kind",
    "content_sha256",
    "registry_path",
    "spooled_feed",
]

BATCH_STATUSES = ("received", "done", "partial", "rejected", "failed")
# Rejections kept with a batch record; the count of all of them is kept too.
MAX_STORED_REJECTIONS = 1_000
# Feed kind -> file suffix the feed readers expect.
KIND_SUFFIX = {"jsonl": ".jsonl", "csv": ".csv", "tsv": ".tsv", "xlsx": ".xlsx"}
_MEDIA_KINDS = {
    "application/x-ndjson": "jsonl",
    "application/ndjson": "jsonl",
    "application/jsonl": "jsonl",
    "application/x-jsonlines": "jsonl",
    "application/json": "jsonl",
    "text/csv": "csv",
    "application/csv": "csv",
    "text/tab-separated-values": "tsv",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
}
_ZIP_MAGIC = b"PK\x03\x04"

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


def _now() -> str:
    return datetime.now(UTC).isoformat()


def content_sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def registry_path(settings: Any) -> Path:
    return Path(settings.var_dir) / "stations" / "batches.sqlite3"


def batch_kind(
    *, declared: str | None = None, filename: str | None = None, media_type: str | None = None, head: bytes = b""
) -> str:
    """The feed kind of an upload ('jsonl', 'csv', 'tsv', 'xlsx'): the declared format, else the file
    name's extension, else the media type, else an XLSX (zip) signature. UnsupportedFileType otherwise."""
    if declared:
        kind = declared.strip().lower().lstrip(".")
        kind = {"ndjson": "jsonl", "json": "jsonl"}.get(kind, kind)
        if kind not in KIND_SUFFIX:
            raise UnsupportedFileType(f"format {declared!r} is not supported; use one of {', '.join(KIND_SUFFIX)}")
        return kind
    if filename and "." in filename:
        suffix = "." + filename.rsplit(".", 1)[1].lower()
        if suffix == ".tsv":
            return "tsv"
        if suffix in EXTENSIONS:
            return EXTENSIONS[suffix]
        from riskmine.feeds import feed_kind

        feed_kind(Path(filename))  # raises UnsupportedFileType with a message saying what to do
    media = (media_type or "").split(";", 1)[0].strip().lower()
    if media in _MEDIA_KINDS:
        return _MEDIA_KINDS[media]
    if head.startswith(_ZIP_MAGIC):
        return "xlsx"
    raise UnsupportedFileType(
        f"cannot tell the upload's format (file name {filename or '(none)'!r}, Content-Type {media or '(none)'!r}); "
        "upload a .jsonl, .csv, .tsv or .xlsx file, or give ?format=jsonl|csv|tsv|xlsx"
    )


# Append only: each entry upgrades the file by one schema version.
MIGRATIONS = [script(_SCHEMA)]


@contextmanager
def spooled_feed(content: bytes, kind: str) -> Iterator[Path]:
    """The upload written to a temporary file with the suffix its reader expects (removed afterwards)."""
    with tempfile.TemporaryDirectory(prefix="riskmine-batch-") as tmp:
        path = Path(tmp) / f"upload{KIND_SUFFIX[kind]}"
        path.write_bytes(content)
        yield path


@dataclass
class BatchRecord:
    """One station batch: where it came from, its status and what became of its rows."""

    id: str
    station: str
    sha256: str
    kind: str
    status: str = "received"
    filename: str | None = None
    submitted_by: str | None = None
    created_at: str = field(default_factory=_now)
    finished_at: str | None = None
    form: str | None = None
    rows: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    rejections: list[dict[str, Any]] = field(default_factory=list)
    rejections_truncated: bool = False
    document_ids: list[str] = field(default_factory=list)
    processed: int = 0
    risks: int = 0
    candidates: int | None = None
    error: str | None = None

    def to_dict(self, *, with_details: bool = True) -> dict[str, Any]:
        out = asdict(self)
        out["batch_id"] = out.pop("id")
        if not with_details:
            out.pop("rejections")
            out.pop("document_ids")
        return out


# Columns of the table; everything else of a record lives in the JSON 'body'.
_COLUMNS = ("id", "station", "sha256", "filename", "kind", "status", "submitted_by", "created_at", "finished_at")


def batch_id(station: str, sha256: str) -> str:
    """The stable id of a station's batch with these bytes."""
    return stable_id(station, sha256, prefix="b")


class BatchRegistry:
    """The batches received, in a SQLite file; safe to use from several threads and processes."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.file = SQLiteFile(self.path, MIGRATIONS, timeout=30.0)

    @classmethod
    def from_settings(cls, settings: Any) -> BatchRegistry:
        return cls(registry_path(settings))

    def _connect(self) -> AbstractContextManager[sqlite3.Connection]:
        return self.file.connect()

    @staticmethod
    def _record(row: sqlite3.Row) -> BatchRecord:
        body = json.loads(row["body"] or "{}")
        return BatchRecord(**{**body, **{c: row[c] for c in _COLUMNS}})

    def claim(
        self, station: str, sha256: str, kind: str, *, filename: str | None = None, submitted_by: str | None = None
    ) -> tuple[BatchRecord, bool]:
        """The batch for these bytes and whether this call created it. A batch that failed before is
        claimed afresh (its record reset to 'received')."""
        record = BatchRecord(id=batch_id(station, sha256), station=station, sha256=sha256, kind=kind, filename=filename)
        record.submitted_by = submitted_by
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            row = db.execute("SELECT * FROM batches WHERE id = ?", (record.id,)).fetchone()
            if row is not None and row["status"] != "failed":
                return self._record(row), False
            db.execute("DELETE FROM batches WHERE id = ?", (record.id,))
            db.execute(
                "INSERT INTO batches (id, station, sha256, filename, kind, status, submitted_by, created_at, body)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, '{}')",
                (record.id, station, sha256, filename, kind, record.status, submitted_by, record.created_at),
            )
        return record, True

    def save(self, record: BatchRecord) -> None:
        """Store the record's status and results."""
        if record.status not in BATCH_STATUSES:
            raise ValueError(f"unknown batch status {record.status!r}")
        data = asdict(record)
        body = {k: v for k, v in data.items() if k not in _COLUMNS}
        with self._connect() as db:
            db.execute(
                "UPDATE batches SET status = ?, finished_at = ?, body = ? WHERE id = ?",
                (record.status, record.finished_at, json.dumps(body, ensure_ascii=False), record.id),
            )

    def discard(self, batch_id: str) -> None:
        """Forget a batch that stored nothing (its file could not be read at all)."""
        with self._connect() as db:
            db.execute("DELETE FROM batches WHERE id = ?", (batch_id,))

    def get(self, batch_id: str, station: str | None = None) -> BatchRecord | None:
        with self._connect() as db:
            row = db.execute("SELECT * FROM batches WHERE id = ?", (batch_id,)).fetchone()
        if row is None or (station is not None and row["station"] != station):
            return None
        return self._record(row)

    def list(self, station: str | None = None, *, limit: int = 50, offset: int = 0) -> tuple[list[BatchRecord], int]:
        """Batches, newest first, and how many there are in all."""
        where, args = ("WHERE station = ?", [station]) if station is not None else ("", [])
        with self._connect() as db:
            total = int(db.execute(f"SELECT COUNT(*) FROM batches {where}", args).fetchone()[0])
            rows = db.execute(
                f"SELECT * FROM batches {where} ORDER BY created_at DESC, id LIMIT ? OFFSET ?", [*args, limit, offset]
            ).fetchall()
        return [self._record(r) for r in rows], total
