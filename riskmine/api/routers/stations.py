"""Station batches: monitoring stations upload their monthly report forms (JSONL, CSV, XLSX) here.

``POST /api/v1/stations/{station}/batches`` takes the file as a multipart upload (field ``file``), as
the raw request body (format from ``?format=``, ``?filename=`` or the Content-Type), or fetches it from
``?url=`` (a public http(s) address only: see riskmine.feeds.netguard). The rows are
read by the station feed readers (both seed report forms are recognised), stored, processed by the
NLP pipeline and grouped into candidates, as ``POST /api/v1/documents`` does. Every batch is recorded;
the same file sent again by the same station adds nothing and answers with the recorded batch.

A user with role ``station`` may only send and see batches of their own organisation; admins and
analysts see every station's batches.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from starlette.datastructures import UploadFile

from riskmine.api.deps import CurrentUserDep, StateDep, StoreDep, get_pipeline
from riskmine.api.errors import ApiError
from riskmine.api.filters import OffsetQuery
from riskmine.api.state import AppState
from riskmine.feeds.batches import (
    MAX_STORED_REJECTIONS,
    BatchRecord,
    BatchRegistry,
    batch_kind,
    content_sha256,
    open_batch_registry,
    spooled_feed,
)
from riskmine.feeds.rows import FeedError, UnsupportedFileType
from riskmine.ingest import IngestReport
from riskmine.pipeline import Pipeline
from riskmine.review.roles import Role
from riskmine.review.users import User
from riskmine.schema import SourceType
from riskmine.schema.enums import station_source
from riskmine.store.base import Store

router = APIRouter(prefix="/api/v1/stations", tags=["stations"])

READ_ALL_ROLES = frozenset({Role.admin, Role.analyst})
StationPath = Annotated[
    str,
    Path(
        min_length=1,
        max_length=100,
        pattern=r"^[^\x00-\x1f/\\]+$",
        description="the station (its organisation name, as on station accounts)",
    ),
]


def _authorise(user: User, station: str, action: str) -> None:
    """Admins and analysts may act for any station; a station account only for its own organisation."""
    if user.role in READ_ALL_ROLES:
        return
    if user.role is Role.station:
        own = user.organisation or ""
        if own != station:
            raise ApiError(
                403,
                "forbidden",
                f"a station account may only {action} batches of its own organisation ({own or 'none set'!r}), "
                f"not of {station!r}",
            )
        return
    raise ApiError(403, "forbidden", f"role {user.role.value!r} cannot {action} station batches")


def _registry(state: AppState) -> BatchRegistry:
    return open_batch_registry(state.settings)


def batch_url(station: str, batch_id: str) -> str:
    return f"{router.prefix}/{station}/batches/{batch_id}"


def _view(record: BatchRecord, *, with_details: bool = True, replayed: bool | None = None) -> dict[str, Any]:
    body = record.to_dict(with_details=with_details)
    body["url"] = batch_url(record.station, record.id)
    if replayed is not None:
        body["replayed"] = replayed
    return body


async def _upload(request: Request, filename: str | None) -> tuple[bytes, str | None, str | None]:
    """(bytes, file name, media type) of the upload: a multipart 'file' field or the raw body."""
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type == "multipart/form-data":
        form = await request.form(max_files=1, max_fields=5)
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise ApiError(422, "missing_file", "the multipart form has no file field named 'file'")
        content = await upload.read()
        return content, filename or upload.filename, upload.content_type
    return await request.body(), filename, media_type or None


def _fetch(state: AppState, url: str, filename: str | None) -> tuple[bytes, str | None, str | None]:
    """(bytes, file name, media type) of a station's feed file fetched from a public address."""
    from riskmine.feeds.fetch import FeedFetchError, FeedTooLarge, fetch_feed
    from riskmine.feeds.netguard import UnsafeUrlError

    settings = state.settings
    try:
        fetched = fetch_feed(url, max_bytes=settings.max_upload_bytes, allow_private=settings.allow_private_urls)
    except UnsafeUrlError as exc:
        raise ApiError(422, exc.code, f"the feed address is refused: {exc}", [{"field": "url"}]) from None
    except FeedTooLarge as exc:
        raise ApiError(413, exc.code, str(exc), [{"limit_bytes": settings.max_upload_bytes}]) from None
    except FeedFetchError as exc:
        raise ApiError(502, exc.code, str(exc)) from None
    return fetched.content, filename or fetched.filename, fetched.media_type


def _receive(
    state: AppState,
    store: Store,
    pipeline: Pipeline | None,
    registry: BatchRegistry,
    record: BatchRecord,
    content: bytes,
    sheet: str | None,
) -> BatchRecord:
    """Read, store and process a claimed batch; its record is saved with the outcome."""
    name = record.filename or f"the {record.kind} upload"
    read: list[IngestReport] = []  # the file was read: later errors come from processing, not from the upload

    def has_rows(report: IngestReport) -> None:
        if report.rows == 0:
            message = f"{name} has no data rows (a header row alone, or only blank and footer rows)"
            raise _UploadUnreadable(ValueError(message), message, "empty_batch")
        read.append(report)

    try:
        with spooled_feed(content, record.kind) as path:
            try:
                outcome = state.submission(store, pipeline).path(
                    path,
                    source=station_source(record.station),
                    source_type=SourceType.station_report,
                    sheet=sheet,
                    check=has_rows,
                    fixed_source=True,  # a batch's rows come from its station, whatever source they name
                )
            except (FeedError, ValueError) as exc:
                if read:
                    raise
                raise _UploadUnreadable(exc, _display(exc, path, name)) from None
        assert outcome.ingest is not None
        report = outcome.ingest
        record.document_ids = outcome.document_ids
        record.processed, record.risks, record.candidates = outcome.processed, outcome.risks, outcome.candidates
    except _UploadUnreadable:
        registry.discard(record.id)
        raise
    except Exception as exc:
        record.status, record.error = "failed", f"{type(exc).__name__}: {exc}"
        record.finished_at = _finished()
        registry.save(record)
        raise
    record.form = report.form
    record.rows = report.rows
    record.accepted = report.accepted
    record.duplicates = report.duplicates
    record.rejected = len(report.rejected)
    record.rejections = [
        {"row": r.row, "field": r.field, "reason": r.reason} for r in report.rejected[:MAX_STORED_REJECTIONS]
    ]
    record.rejections_truncated = len(report.rejected) > MAX_STORED_REJECTIONS
    record.warnings = [
        {"row": w.row, "field": w.field, "reason": w.reason} for w in report.warnings[:MAX_STORED_REJECTIONS]
    ]
    valid = report.accepted + report.duplicates
    record.status = "done" if not report.rejected else "partial" if valid else "rejected"
    record.finished_at = _finished()
    registry.save(record)
    return record


def _finished() -> str:
    return datetime.now(UTC).isoformat()


class _UploadUnreadable(Exception):
    """The upload as a whole could not be read; the message names the upload, not the spooled file."""

    def __init__(self, error: FeedError | ValueError, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.error = error
        self._code = code

    @property
    def status(self) -> int:
        if isinstance(self.error, UnsupportedFileType):
            return 415
        return 400 if isinstance(self.error, FeedError) else 422

    @property
    def code(self) -> str:
        return self._code or str(getattr(self.error, "code", "invalid_upload"))


def _display(error: Exception, path: FilePath, name: str) -> str:
    return str(error).replace(str(path), name).replace(path.name, name)


def _answer(record: BatchRecord, *, replayed: bool) -> JSONResponse:
    if record.status == "rejected":
        raise ApiError(
            422,
            "no_valid_rows",
            f"batch {record.id}: none of its {record.rows} rows was accepted; the details name each row's problem",
            record.rejections,
        )
    if record.status == "received":
        raise ApiError(
            409,
            "batch_in_progress",
            f"batch {record.id} with the same content is being processed; GET {batch_url(record.station, record.id)}",
        )
    status = 200 if replayed else 207 if record.rejected else 201
    return JSONResponse(_view(record, replayed=replayed), status_code=status)


@router.post(
    "/{station}/batches",
    status_code=201,
    summary="Upload a station batch (JSONL, CSV or XLSX; the general and e-commerce report forms)",
    responses={
        200: {"description": "the same file was sent before: the recorded batch, nothing added"},
        207: {"description": "some rows were rejected (reasons per row); the others were stored"},
        403: {"description": "a station account sending for another organisation"},
        413: {"description": "the upload is larger than the limit (RISKMINE_MAX_UPLOAD_BYTES)"},
        415: {"description": "not a JSONL, CSV or XLSX file"},
        422: {"description": "no row was valid (the batch is recorded with status 'rejected')"},
    },
)
async def post_batch(
    request: Request,
    station: StationPath,
    state: StateDep,
    store: StoreDep,
    user: CurrentUserDep,
    fmt: Annotated[str | None, Query(alias="format", max_length=10, description="jsonl, csv, tsv or xlsx")] = None,
    filename: Annotated[str | None, Query(max_length=255, description="the file's name (its extension)")] = None,
    sheet: Annotated[str | None, Query(max_length=100, description="XLSX worksheet to read")] = None,
    process: Annotated[bool, Query(description="run the NLP pipeline and refresh candidates")] = True,
    url: Annotated[
        str | None, Query(max_length=2_000, description="fetch the file from this public http(s) address instead")
    ] = None,
) -> JSONResponse:
    _authorise(user, station, "send")
    if url is not None:
        content, name, media_type = await run_in_threadpool(_fetch, state, url, filename)
    else:
        content, name, media_type = await _upload(request, filename)
    if not content.strip():
        raise ApiError(422, "empty_batch", "the upload is empty: send a file with at least one row")
    try:
        kind = batch_kind(declared=fmt, filename=name, media_type=media_type, head=content[:8])
    except UnsupportedFileType as exc:
        raise ApiError(415, exc.code, str(exc)) from None
    if sheet is not None and kind != "xlsx":
        raise ApiError(422, "invalid_request", "?sheet= applies to XLSX uploads only")
    registry = await run_in_threadpool(_registry, state)
    sha = content_sha256(content)
    record, created = await run_in_threadpool(
        registry.claim, station, sha, kind, filename=name, submitted_by=user.username
    )
    if not created:
        return _answer(record, replayed=True)
    try:
        # Build the pipeline first: if it cannot be built, nothing is stored half-done.
        pipeline = await get_pipeline(state) if process else None
    except ApiError:
        await run_in_threadpool(registry.discard, record.id)
        raise
    try:
        record = await run_in_threadpool(_receive, state, store, pipeline, registry, record, content, sheet)
    except _UploadUnreadable as exc:
        raise ApiError(exc.status, exc.code, str(exc)) from None
    return _answer(record, replayed=False)


@router.get("/{station}/batches", summary="A station's batches, newest first")
async def list_batches(
    station: StationPath,
    state: StateDep,
    user: CurrentUserDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: OffsetQuery = 0,
) -> dict[str, Any]:
    _authorise(user, station, "see")
    registry = await run_in_threadpool(_registry, state)
    records, total = await run_in_threadpool(lambda: registry.list(station, limit=limit, offset=offset))
    return {
        "station": station,
        "total": total,
        "limit": limit,
        "offset": offset,
        "items": [_view(r, with_details=False) for r in records],
    }


@router.get("/{station}/batches/{batch_id}", summary="One batch: status, counts and rejected rows with reasons")
async def get_batch(
    station: StationPath,
    batch_id: Annotated[str, Path(min_length=1, max_length=64)],
    state: StateDep,
    user: CurrentUserDep,
) -> dict[str, Any]:
    _authorise(user, station, "see")
    registry = await run_in_threadpool(_registry, state)
    record = await run_in_threadpool(registry.get, batch_id, station)
    if record is None:
        raise ApiError(404, "not_found", f"station {station!r} has no batch with id {batch_id!r}")
    return _view(record)
