"""Station batches: what each monitoring station uploaded, kept in a batch registry (the
:class:`BatchRegistry` protocol; embedded: <var_dir>/stations/batches.sqlite3), and the reading of one
upload through the feed readers.

A batch is identified by its station and the SHA-256 of its bytes: the same file sent again by
the same station is the same batch, so re-sending adds nothing and answers with the batch already
recorded. A batch moves from ``received`` to ``done`` (every row accepted), ``partial`` (some rows
rejected), ``rejected`` (no row accepted) or ``failed`` (an error while storing or processing; a
failed batch may be sent again).

A batch being received is *leased* to the process receiving it, which renews the lease while it works.
When that process dies (killed, the machine lost), the lease runs out and the batch is *stale*: the
next claim for the same bytes (the station sending again, or the API's recovery at start-up, which
keeps the upload in ``<var_dir>/stations/spool/``) takes it over and completes it.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from riskmine.feeds import EXTENSIONS, UnsupportedFileType
from riskmine.schema import stable_id
from riskmine.schema.errors import RiskmineError

if TYPE_CHECKING:
    from riskmine.settings import Settings

__all__ = [
    "BATCH_STATUSES",
    "MAX_STORED_REJECTIONS",
    "BatchRecord",
    "BatchRegistry",
    "batch_kind",
    "check_status",
    "content_sha256",
    "lease_end",
    "lease_expired",
    "open_batch_registry",
    "registry_path",
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


def _now() -> str:
    return datetime.now(UTC).isoformat()


def lease_end(seconds: float, now: datetime | None = None) -> str:
    """When a lease of ``seconds`` taken ``now`` (default: the clock) runs out, as stored."""
    return ((now or datetime.now(UTC)) + timedelta(seconds=seconds)).isoformat()


def lease_expired(record: BatchRecord, now: datetime | None = None) -> bool:
    """Whether a batch still 'received' has lost its receiver (no lease recorded: a batch from before leases)."""
    if record.status != "received":
        return False
    if not record.lease_until:
        return True
    return datetime.fromisoformat(record.lease_until) <= (now or datetime.now(UTC))


def content_sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def registry_path(settings: Settings) -> Path:
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


@dataclass
class BatchRecord:
    """One station batch: where it came from, its status and what became of its rows."""

    id: str
    station: str
    sha256: str
    kind: str
    status: str = "received"
    filename: str | None = None
    sheet: str | None = None  # the XLSX worksheet read
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
    warnings: list[dict[str, Any]] = field(default_factory=list)  # rows accepted with a field left empty
    document_ids: list[str] = field(default_factory=list)
    processed: int = 0
    risks: int = 0
    candidates: int | None = None
    error: str | None = None
    lease_until: str | None = None  # while 'received': when the receiver's lease runs out
    attempts: int = 1  # tries at receiving it (more than one: taken over after a crash, or sent again after failing)

    def to_dict(self, *, with_details: bool = True) -> dict[str, Any]:
        out = asdict(self)
        out["batch_id"] = out.pop("id")
        if not with_details:
            out.pop("rejections")
            out.pop("warnings")
            out.pop("document_ids")
        return out


def batch_id(station: str, sha256: str) -> str:
    """The stable id of a station's batch with these bytes."""
    return stable_id(station, sha256, prefix="b")


class UnknownBatchStatus(RiskmineError, ValueError):
    code = "unknown_batch_status"
    status = 500


def check_status(record: BatchRecord) -> None:
    """Refuse a record whose status is not one of BATCH_STATUSES (every registry checks before it saves)."""
    if record.status not in BATCH_STATUSES:
        raise UnknownBatchStatus(f"unknown batch status {record.status!r}; statuses are: {', '.join(BATCH_STATUSES)}")


class BatchRegistry(Protocol):
    """The batches received; safe to use from several threads and processes."""

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
        """The batch for these bytes and whether this call now receives it (leased for ``lease_seconds``).
        A batch that failed before is claimed afresh (its record reset to 'received'); a stale one (see
        :func:`lease_expired`) is taken over, its ``attempts`` counted. Two callers racing: one receives it."""
        ...

    def renew(self, batch_id: str, lease_seconds: float) -> bool:
        """Extend the lease of a batch still 'received'; False when it is no longer (finished or discarded)."""
        ...

    def receiving(self) -> list[BatchRecord]:
        """Every batch still 'received' (being received, or stale), oldest first."""
        ...

    def save(self, record: BatchRecord) -> None:
        """Store the record's status and results (see :func:`check_status`)."""
        ...

    def discard(self, batch_id: str) -> None:
        """Forget a batch that stored nothing (its file could not be read at all)."""
        ...

    def get(self, batch_id: str, station: str | None = None) -> BatchRecord | None:
        """The batch (of this station, when given)."""
        ...

    def list(self, station: str | None = None, *, limit: int = 50, offset: int = 0) -> tuple[list[BatchRecord], int]:
        """Batches, newest first, and how many there are in all."""
        ...


def open_batch_registry(settings: Settings) -> BatchRegistry:
    """The batch registry the settings name: PostgreSQL when RISKMINE_DATABASE_URL is set, else a SQLite file."""
    if settings.database_url:
        from riskmine.feeds.pg_batches import PgBatchRegistry

        return PgBatchRegistry(settings.database_url, pool_size=settings.database_pool_size)
    from riskmine.feeds.sqlite_batches import SQLiteBatchRegistry

    return SQLiteBatchRegistry(registry_path(settings))
