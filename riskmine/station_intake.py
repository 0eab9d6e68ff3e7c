"""Receiving a station batch, so that it survives a crash: claim, keep the upload, store, process, record.

``POST /api/v1/stations/{station}/batches`` (and the console's upload page) hand an upload here:

1. :meth:`StationIntake.claim` records the batch (one per station and file content) under a lease, and
   keeps the upload's bytes in ``<var_dir>/stations/spool/`` until the batch is finished;
2. :meth:`StationIntake.receive` reads, stores and processes the rows through the one
   :class:`~riskmine.submission.Submission`, renewing the lease meanwhile; the stored documents go to
   the batch's journal entry (:mod:`riskmine.store.journal`), and the outcome to the batch record.

If the receiving process dies, the lease runs out and the batch is taken over, by the station sending
the same file again or by :meth:`StationIntake.resume_stale` (the API runs it at start-up) from the kept
upload: rows stored by the interrupted try are counted as this batch's, not as duplicates, and the
documents it stored but never processed are processed, so the record ends as an uninterrupted one would.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from riskmine.feeds.batches import (
    KIND_SUFFIX,
    MAX_STORED_REJECTIONS,
    BatchRecord,
    BatchRegistry,
    content_sha256,
    lease_expired,
)
from riskmine.feeds.rows import FeedError, UnsupportedFileType
from riskmine.ingest import IngestReport
from riskmine.pipeline import Pipeline
from riskmine.processing import stored_signals
from riskmine.schema import SourceType
from riskmine.schema.enums import station_source
from riskmine.schema.errors import RiskmineError
from riskmine.settings import Settings
from riskmine.store.journal import JournalEntry, work_journal
from riskmine.submission import Submission

__all__ = ["StationIntake", "UploadUnreadable"]

log = logging.getLogger(__name__)

# Builds the submission service for a pipeline (None: store only); the API's holds its write lock.
SubmissionFactory = Callable[[Pipeline | None], Submission]

INTERRUPTED_WITHOUT_UPLOAD = "上传在接收过程中中断且未保留原文件，请重新上传同一文件（interrupted, upload not kept）"


class UploadUnreadable(RiskmineError):
    """The upload as a whole could not be read (nothing was stored); the message names the upload."""

    code = "invalid_upload"
    status = 422

    def __init__(self, message: str, *, code: str = "invalid_upload", status: int = 422) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


def _finished() -> str:
    return datetime.now(UTC).isoformat()


class StationIntake:
    """Station batches received through one registry, with their uploads kept until they are finished."""

    def __init__(self, settings: Settings, registry: BatchRegistry, submission: SubmissionFactory) -> None:
        self.settings = settings
        self.registry = registry
        self.submission = submission
        self.lease = settings.batch_lease_seconds
        self.spool_dir = Path(settings.var_dir) / "stations" / "spool"
        self.journal = work_journal(settings.var_dir)

    # ------------------------------------------------------------------ the upload kept

    def _spool_path(self, record: BatchRecord) -> Path:
        return self.spool_dir / f"{record.id}{KIND_SUFFIX[record.kind]}"

    def _entry(self, record: BatchRecord) -> JournalEntry:
        return self.journal.named(f"batch-{record.id}")

    def _forget(self, record: BatchRecord) -> None:
        """The batch is finished (or discarded): its kept upload and journal entry go."""
        self._spool_path(record).unlink(missing_ok=True)
        self._entry(record).close()

    # ------------------------------------------------------------------ claim and receive

    def claim(
        self,
        station: str,
        content: bytes,
        kind: str,
        *,
        filename: str | None,
        submitted_by: str | None,
        sheet: str | None = None,
    ) -> tuple[BatchRecord, bool]:
        """The batch for these bytes and whether this call receives it (then the upload is kept, and the
        worksheet to read recorded)."""
        record, created = self.registry.claim(
            station,
            content_sha256(content),
            kind,
            filename=filename,
            submitted_by=submitted_by,
            lease_seconds=self.lease,
        )
        if created:
            path = self._spool_path(record)
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_name(path.name + ".part")
            partial.write_bytes(content)
            partial.replace(path)  # whole or absent
            if sheet is not None and record.sheet != sheet:
                record.sheet = sheet
                self.registry.save(record)
        return record, created

    def discard(self, record: BatchRecord) -> None:
        """Forget a claimed batch before anything was stored (the pipeline could not be built)."""
        self.registry.discard(record.id)
        self._forget(record)

    @contextmanager
    def _leased(self, record: BatchRecord) -> Iterator[None]:
        """Renew the batch's lease while the block runs."""
        stop = threading.Event()

        def beat() -> None:
            while not stop.wait(self.lease / 4):
                try:
                    self.registry.renew(record.id, self.lease)
                except Exception:  # a missed renewal is retried; the lease outlasts several
                    log.exception("renewing the lease of batch %s", record.id)

        thread = threading.Thread(target=beat, name=f"lease-{record.id}", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()

    def receive(self, record: BatchRecord, pipeline: Pipeline | None) -> BatchRecord:
        """Read, store and process a claimed batch from its kept upload; the record is saved with the outcome.

        Raises UploadUnreadable (the batch is forgotten: nothing was stored) when the file cannot be read.
        """
        name = record.filename or f"the {record.kind} upload"
        read: list[IngestReport] = []  # the file was read: later errors come from processing, not from the upload
        entry = self._entry(record)
        stored_before = set(entry.ids())  # by an interrupted earlier try of this batch

        def has_rows(report: IngestReport) -> None:
            if report.rows == 0:
                message = f"{name} has no data rows (a header row alone, or only blank and footer rows)"
                raise UploadUnreadable(message, code="empty_batch")
            read.append(report)

        path = self._spool_path(record)
        try:
            with self._leased(record):
                try:
                    outcome = self.submission(pipeline).path(
                        path,
                        source=station_source(record.station),
                        source_type=SourceType.station_report,
                        sheet=record.sheet,
                        check=has_rows,
                        fixed_source=True,  # a batch's rows come from its station, whatever source they name
                        entry=entry,
                    )
                except (FeedError, ValueError) as exc:
                    if read:
                        raise
                    status = 415 if isinstance(exc, UnsupportedFileType) else 400 if isinstance(exc, FeedError) else 422
                    message = str(exc).replace(str(path), name).replace(path.name, name)
                    code = str(getattr(exc, "code", "invalid_upload"))
                    raise UploadUnreadable(message, code=code, status=status) from None
        except UploadUnreadable:
            self.discard(record)
            raise
        except Exception as exc:
            record.status, record.error = "failed", f"{type(exc).__name__}: {exc}"
            record.finished_at = _finished()
            self.registry.save(record)
            self._spool_path(record).unlink(missing_ok=True)  # a failed batch is sent again by its station
            raise
        report = outcome.ingest
        assert report is not None
        again = [i for i in report.duplicate_ids if i in stored_before]  # this batch's own, from the earlier try
        record.document_ids = list(dict.fromkeys([*again, *outcome.document_ids]))
        if again:  # what the batch's documents came to, over both tries
            signals = stored_signals(self.submission(None).store, record.document_ids)
            record.processed, record.risks = len(signals), sum(1 for s in signals if s.is_risk)
        else:
            record.processed, record.risks = outcome.processed, outcome.risks
        record.candidates = outcome.candidates
        record.form = report.form
        record.rows = report.rows
        record.accepted = report.accepted + len(again)
        record.duplicates = report.duplicates - len(again)
        record.rejected = len(report.rejected)
        record.rejections = [
            {"row": r.row, "field": r.field, "reason": r.reason} for r in report.rejected[:MAX_STORED_REJECTIONS]
        ]
        record.rejections_truncated = len(report.rejected) > MAX_STORED_REJECTIONS
        record.warnings = [
            {"row": w.row, "field": w.field, "reason": w.reason} for w in report.warnings[:MAX_STORED_REJECTIONS]
        ]
        valid = record.accepted + record.duplicates
        record.status = "done" if not report.rejected else "partial" if valid else "rejected"
        record.finished_at = _finished()
        self.registry.save(record)
        self._forget(record)
        return record

    # ------------------------------------------------------------------ after a crash

    def stale(self, now: datetime | None = None) -> list[BatchRecord]:
        """Batches whose receiver died (their lease ran out)."""
        return [r for r in self.registry.receiving() if lease_expired(r, now)]

    def next_expiry(self) -> float | None:
        """Seconds until the lease of a batch being received runs out (None: no batch is being received)."""
        now = datetime.now(UTC)
        ends = [datetime.fromisoformat(r.lease_until) for r in self.registry.receiving() if r.lease_until]
        if not ends:
            return None
        return max(0.0, (min(ends) - now).total_seconds())

    def resume_stale(self, pipeline: Callable[[], Pipeline | None]) -> list[BatchRecord]:
        """Take over and complete every stale batch from its kept upload; a stale batch whose upload was not
        kept is marked failed, so that its station's sending it again completes it. Returns the batches
        finished here."""
        finished: list[BatchRecord] = []
        for stale in self.stale():
            path = self._spool_path(stale)
            if not path.exists():
                stale.status, stale.finished_at = "failed", _finished()
                stale.error = (
                    "上传在接收过程中中断且未保留原文件，请重新上传同一文件 (interrupted; send the file again)"
                )
                self.registry.save(stale)
                continue
            content = path.read_bytes()
            if content_sha256(content) != stale.sha256:
                path.unlink()
                continue
            record, mine = self.claim(
                stale.station,
                content,
                stale.kind,
                filename=stale.filename,
                submitted_by=stale.submitted_by,
                sheet=stale.sheet,
            )
            if not mine:  # another receiver took it over first
                continue
            try:
                finished.append(self.receive(record, pipeline()))
            except Exception:
                log.exception("resuming station batch %s", record.id)
        return finished
