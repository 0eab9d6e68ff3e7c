"""Station batches: monitoring stations upload their monthly report forms (JSONL, CSV, XLSX) here.

``POST /api/v1/stations/{station}/batches`` takes the file as a multipart upload (field ``file``), as
the raw request body (format from ``?format=``, ``?filename=`` or the Content-Type), or fetches it from
``?url=`` (a public http(s) address only: see riskmine.feeds.netguard). The rows are
read by the station feed readers (both seed report forms are recognised), stored, processed by the
NLP pipeline and grouped into candidates, as ``POST /api/v1/documents`` does. Every batch is recorded;
the same file sent again by the same station adds nothing and answers with the recorded batch.

A user with role ``station`` may only send and see batches of their own organisation; admins and
analysts see the batches of every station in their organisation scope (riskmine.review.visibility: the
assessment centre's, every station's).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from starlette.datastructures import UploadFile

from riskmine.api.deps import CurrentUserDep, ReviewDBDep, StateDep, StoreDep, get_pipeline
from riskmine.api.errors import ApiError
from riskmine.api.filters import OffsetQuery
from riskmine.api.state import AppState
from riskmine.feeds.batches import (
    BatchRecord,
    batch_kind,
)
from riskmine.feeds.rows import UnsupportedFileType
from riskmine.review import visibility
from riskmine.review.repository import ReviewRepository
from riskmine.review.roles import Role
from riskmine.review.users import User
from riskmine.station_intake import UploadUnreadable
from riskmine.store.base import Store

router = APIRouter(prefix="/api/v1/stations", tags=["stations"])

STATION_ROLES = frozenset({Role.admin, Role.analyst, Role.station})
StationPath = Annotated[
    str,
    Path(
        min_length=1,
        max_length=100,
        pattern=r"^[^\x00-\x1f/\\]+$",
        description="the station (its organisation name, as on station accounts)",
    ),
]


def authorise_station(user: User, db: ReviewRepository, station: str, action: str) -> None:
    """Admins, analysts and stations may act for the stations of their organisation scope
    (riskmine.review.visibility: the centre for any station, a station account only for its own)."""
    if user.role not in STATION_ROLES:
        raise ApiError(403, "forbidden", f"role {user.role.value!r} cannot {action} station batches")
    if visibility.source_scope(db, user).sees_station(station):
        return
    if user.role is Role.station:
        own = user.organisation or user.username
        raise ApiError(
            403,
            "forbidden",
            f"a station account may only {action} batches of its own organisation ({own!r}), not of {station!r}",
        )
    raise ApiError(
        403,
        "forbidden",
        f"station {station!r} is outside the organisation scope of {user.username!r} "
        f"({user.organisation or 'none set'!r}): only the stations of its subtree",
    )


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
    db: ReviewDBDep,
    fmt: Annotated[str | None, Query(alias="format", max_length=10, description="jsonl, csv, tsv or xlsx")] = None,
    filename: Annotated[str | None, Query(max_length=255, description="the file's name (its extension)")] = None,
    sheet: Annotated[str | None, Query(max_length=100, description="XLSX worksheet to read")] = None,
    process: Annotated[bool, Query(description="run the NLP pipeline and refresh candidates")] = True,
    url: Annotated[
        str | None, Query(max_length=2_000, description="fetch the file from this public http(s) address instead")
    ] = None,
) -> JSONResponse:
    authorise_station(user, db, station, "send")
    if url is not None:
        content, name, media_type = await run_in_threadpool(_fetch, state, url, filename)
    else:
        content, name, media_type = await _upload(request, filename)
    upload = Upload(content, name, media_type, fmt=fmt, sheet=sheet)
    record, created = await receive_upload(state, store, user, station, upload, process=process)
    return _answer(record, replayed=not created)


@dataclass(frozen=True)
class Upload:
    """A station's file as received: its bytes, name and media type, and the declared format and worksheet."""

    content: bytes
    filename: str | None
    media_type: str | None
    fmt: str | None = None
    sheet: str | None = None


async def receive_upload(
    state: AppState, store: Store, user: User, station: str, upload: Upload, *, process: bool = True
) -> tuple[BatchRecord, bool]:
    """Record, store and process one upload for `station` (the caller has checked that `user` may send for it):
    the batch record and whether this call received it (False: the same file was sent before). Whole-file
    problems raise ApiError (415 not a feed file, 422 empty or unreadable, ...); nothing is recorded then.
    The API's upload route and the console's upload form both send files here."""
    content, name, media_type, fmt, sheet = upload.content, upload.filename, upload.media_type, upload.fmt, upload.sheet
    if not content.strip():
        raise ApiError(422, "empty_batch", "the upload is empty: send a file with at least one row")
    try:
        kind = batch_kind(declared=fmt, filename=name, media_type=media_type, head=content[:8])
    except UnsupportedFileType as exc:
        raise ApiError(415, exc.code, str(exc)) from None
    if sheet is not None and kind != "xlsx":
        raise ApiError(422, "invalid_request", "?sheet= applies to XLSX uploads only")
    intake = await run_in_threadpool(state.intake, store)
    record, created = await run_in_threadpool(
        lambda: intake.claim(station, content, kind, filename=name, submitted_by=user.username, sheet=sheet)
    )
    if not created:
        return record, False
    try:
        # Build the pipeline first: if it cannot be built, nothing is stored half-done.
        pipeline = await get_pipeline(state) if process else None
    except ApiError:
        await run_in_threadpool(intake.discard, record)
        raise
    try:
        record = await state.run_write(intake.receive, record, pipeline)
    except UploadUnreadable as exc:
        raise ApiError(exc.status, exc.code, str(exc)) from None
    return record, True


@router.get("/{station}/batches", summary="A station's batches, newest first")
async def list_batches(
    station: StationPath,
    state: StateDep,
    user: CurrentUserDep,
    db: ReviewDBDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: OffsetQuery = 0,
) -> dict[str, Any]:
    authorise_station(user, db, station, "see")
    registry = await run_in_threadpool(lambda: state.batches)
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
    db: ReviewDBDep,
) -> dict[str, Any]:
    authorise_station(user, db, station, "see")
    registry = await run_in_threadpool(lambda: state.batches)
    record = await run_in_threadpool(registry.get, batch_id, station)
    if record is None:
        raise ApiError(404, "not_found", f"station {station!r} has no batch with id {batch_id!r}")
    return _view(record)
