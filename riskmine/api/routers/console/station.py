"""The station page: a monitoring station's submitted batches and documents with their outcomes, and the form that
uploads a report form (drag and drop, or a plain file input without JavaScript) through the same intake as
``POST /api/v1/stations/{station}/batches``; the batch's row-level report is shown after the upload, in Chinese."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import UploadFile

from riskmine.api.console_views import BATCH_STATUS, station_documents
from riskmine.api.deps import OptionalUserDep, ReviewDBDep, StateDep, StoreDep
from riskmine.api.errors import ApiError
from riskmine.api.labels import ROLE
from riskmine.api.limits import size_label, too_large_reason
from riskmine.api.render import SECURITY_HEADERS
from riskmine.api.routers.console import pagekit
from riskmine.api.routers.stations import STATION_ROLES, Upload, authorise_station, receive_upload
from riskmine.api.state import AppState
from riskmine.feeds.batches import BatchRecord
from riskmine.processing import stored_signals
from riskmine.review import visibility
from riskmine.review.repository import ReviewRepository
from riskmine.review.roles import Role
from riskmine.review.users import User
from riskmine.schema.enums import station_source
from riskmine.schema.labels import STATION_QUEUE_LABELS, UPLOAD_ERROR_LABELS
from riskmine.store.base import Store

router = APIRouter()

# The page loads one small script of its own (the drop zone); everything else stays as strict as on every page.
UPLOAD_CSP = SECURITY_HEADERS["Content-Security-Policy"] + "; script-src 'self'"
# The machine-stable marker in front of a row's reason ("row 6: ", "line 3: "): the page shows the row apart.
_MARKER = re.compile(r"^(?:row|line) \d+: ")
_BYTE_OFFSET = re.compile(r"byte offset (\d+)")
_BATCH_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
REPLAYED_NOTICE = "该文件此前已报送过，未重复登记；以下是当时的处理结果。"
UPLOADED_NOTICE = "报送表已接收，以下是逐行处理结果。"


def row_reason(item: dict[str, Any]) -> str:
    """A stored rejection's or warning's reason without its 'row N: ' marker (the row is shown in its own column)."""
    return _MARKER.sub("", str(item.get("reason") or item.get("message") or ""))


def upload_problem(exc: ApiError, content: bytes, limit: int) -> str:
    """Why an upload could not be read as a whole, in Chinese, naming the row where it can; the service's own
    message follows in brackets for whoever needs the technical detail."""
    template = UPLOAD_ERROR_LABELS.get(exc.code)
    if template is None:
        return f"未能接收：{exc.message}"
    text = template.replace("{limit}", size_label(limit))
    found = _BYTE_OFFSET.search(exc.message)
    if exc.code == "undecodable_file" and found:
        offset = int(found.group(1))
        line = content[:offset].count(b"\n") + 1
        text += f"（第 {line} 行，第 {offset:,} 个字节处）；请在 Excel 或 WPS 中另存为“CSV UTF-8”后重新上传"
    return f"{text}。（{exc.message}）"


def queued_batch(record: BatchRecord, queue_configured: bool) -> bool:
    """Whether the batch's documents were sent to the task queue: stored, but not processed in the request (with
    a queue the intake records no processed documents and no candidate count for them: a worker does that)."""
    return (
        queue_configured
        and record.status in ("done", "partial")
        and bool(record.document_ids)
        and record.processed == 0
        and record.candidates is None
    )


def queue_progress(store: Store, record: BatchRecord) -> dict[str, Any]:
    """How far the workers have got with a queued batch, read from the store: its documents that have a
    signal (processed), and the risk signals among them; ``label`` says it in Chinese."""
    signals = stored_signals(store, record.document_ids)
    total, processed = len(record.document_ids), len(signals)
    risks = sum(1 for s in signals if s.is_risk)
    waiting = processed < total
    label = STATION_QUEUE_LABELS["progress" if waiting else "processed"]
    return {
        "waiting": waiting,
        "total": total,
        "processed": processed,
        "risks": risks,
        "badge": STATION_QUEUE_LABELS["queued"],
        "label": label.format(total=total, processed=processed, risks=risks),
    }


def station_name(user: User, requested: str | None) -> str | None:
    """The station a user acts for: a station account its own organisation unless it names another (which the
    access check then refuses), admins and analysts the one they chose."""
    if user.role is Role.station:
        return requested or user.organisation or user.username
    return requested


def station_context(
    state: AppState, store: Store, db: ReviewRepository, user: User, name: str | None, number: int, batch: str | None
) -> dict[str, Any]:
    """What the station page shows: the station's batches, its documents (one page), and one batch's report."""
    if user.role not in STATION_ROLES:
        raise ApiError(403, "forbidden", f"role {user.role.value!r} cannot see station submissions")
    if name and not visibility.source_scope(db, user).sees_station(name):
        raise ApiError(403, "forbidden", f"station {name!r} is outside the organisation scope of {user.username!r}")
    batches: list[Any] = []
    batch_total = 0
    documents: list[Any] = []
    doc_total = 0
    report: BatchRecord | None = None
    if name:
        registry = state.batches
        batches, batch_total = registry.list(name, limit=pagekit.PAGE_SIZE)
        documents, doc_total = station_documents(
            store, station_source(name), limit=pagekit.PAGE_SIZE, offset=(number - 1) * pagekit.PAGE_SIZE
        )
        if batch and _BATCH_ID.match(batch):
            report = registry.get(batch, name)
    # batches sent to the task queue: waiting for a worker, or how far the workers have got (from the store)
    queue_configured = bool(state.settings.queue_url)
    progress: dict[str, dict[str, Any]] = {}
    for record in [*batches, *([report] if report is not None else [])]:
        if record.id not in progress and queued_batch(record, queue_configured):
            progress[record.id] = queue_progress(store, record)
    limit = int(state.settings.max_upload_bytes)
    return {
        "user": user,
        "station": name,
        "choose": user.role is not Role.station,
        "batches": batches,
        "batch_total": batch_total,
        "documents": documents,
        "pager": pagekit.pager(number, doc_total, {"station": name if user.role is not Role.station else None}),
        "batch_status": BATCH_STATUS,
        "report": report,
        "queue_progress": progress,
        "row_reason": row_reason,
        "max_upload_bytes": limit,
        "upload_limit": size_label(limit),
        "too_large": too_large_reason(limit),
    }


def _render(request: Request, context: dict[str, Any], status_code: int = 200) -> Response:
    response = pagekit.render(request, "station.html", context, status_code=status_code)
    response.headers["Content-Security-Policy"] = UPLOAD_CSP
    return response


@router.get("/station")
def station_page(
    request: Request,
    state: StateDep,
    store: StoreDep,
    db: ReviewDBDep,
    user: OptionalUserDep,
    station: str | None = None,
    page: str | None = None,
    batch: str | None = None,
    done: str | None = None,
) -> Response:
    """A station's batches and submitted documents with their outcomes, the upload form, and (after an upload)
    the batch's row-level report. A station account sees its own organisation's; admins and analysts choose
    among the stations of their organisation scope."""
    if user is None:
        return pagekit.login_redirect(request)
    own = (user.organisation or user.username) if user.role is Role.station else pagekit.text_param(station)
    context = station_context(state, store, db, user, own, pagekit.page_number(page), batch)
    if context["report"] is not None:
        context["notice_ok"] = {"replayed": REPLAYED_NOTICE, "uploaded": UPLOADED_NOTICE}.get(done or "")
    return _render(request, context)


@router.post("/station/batches")
async def upload_form(
    request: Request, state: StateDep, store: StoreDep, db: ReviewDBDep, user: OptionalUserDep
) -> Response:
    """The upload form: the file goes through the station intake as the API's upload does, then the browser is
    sent to the batch's report; a file that cannot be read shows the page again with the reason in Chinese."""
    pagekit.refuse_cross_site(request, "station upload")
    who = pagekit.signed_in(request, user)
    if who.role not in STATION_ROLES:
        message = UPLOAD_ERROR_LABELS["role_forbidden"].replace("{role}", ROLE.get(who.role.value, who.role.value))
        raise ApiError(403, "forbidden", message)
    form = await request.form(max_files=1, max_fields=5)
    requested = form.get("station")
    name = station_name(who, pagekit.text_param(requested if isinstance(requested, str) else None))
    if not name:
        context = await run_in_threadpool(station_context, state, store, db, who, None, 1, None)
        context["form_error"] = "请填写要报送的监测站名称。"
        return _render(request, context, status_code=422)
    try:
        authorise_station(who, db, name, "send")
    except ApiError as exc:
        raise ApiError(403, "forbidden", UPLOAD_ERROR_LABELS["forbidden"].replace("{station}", name)) from exc
    file = form.get("file")
    content = await file.read() if isinstance(file, UploadFile) else b""
    try:
        if not isinstance(file, UploadFile) or not (file.filename or content):
            raise ApiError(422, "missing_file", "the form has no file")
        upload = Upload(content, file.filename or None, file.content_type)
        record, created = await receive_upload(state, store, who, name, upload)
    except ApiError as exc:
        context = await run_in_threadpool(station_context, state, store, db, who, name, 1, None)
        context["form_error"] = upload_problem(exc, content, int(state.settings.max_upload_bytes))
        return _render(request, context, status_code=exc.status)
    query = {"batch": record.id, "done": "uploaded" if created else "replayed"}
    if who.role is not Role.station:
        query["station"] = name
    return RedirectResponse(f"/station?{urlencode(query)}#report", status_code=303)
