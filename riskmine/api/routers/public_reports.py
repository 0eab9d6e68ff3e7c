"""Public reports: anyone may report risk information (Shanxi plan 二.(三)), without logging in.

``POST /api/v1/public-reports`` takes a product, a description, and optionally a contact and a link.
The report is stored as a RawDocument with source_type ``public_report`` (the contact kept in meta,
masked in the text), processed and grouped into candidates like any other document. The link is
stored, never fetched; it is checked with the public-address guard anyway and the verdict recorded.
Each client (IP address) may send RISKMINE_PUBLIC_REPORT_LIMIT reports per
RISKMINE_PUBLIC_REPORT_WINDOW_SECONDS; beyond that the answer is 429 with Retry-After. The address is the
connecting peer's; X-Forwarded-For counts only from RISKMINE_TRUSTED_PROXIES (none by default).
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator

from riskmine.api.deps import StateDep, StoreDep, get_pipeline
from riskmine.api.errors import ApiError
from riskmine.api.state import AppState
from riskmine.api.views import document_url
from riskmine.feeds.netguard import check_url
from riskmine.pipeline import Pipeline
from riskmine.schema import RawDocument, SourceType, stable_id
from riskmine.store.base import Store
from riskmine.text.normalize import mask_pii

PUBLIC_REPLY = "感谢您的举报：信息已收到，将由风险分析人员研判。"
PUBLIC_REPLY_DUPLICATE = "该信息此前已收到，未重复登记；感谢您的举报。"

router = APIRouter(prefix="/api/v1/public-reports", tags=["public-reports"])

PUBLIC_SOURCE = "public"
CONTACT_MASK = "[联系方式]"
MAX_DESCRIPTION_CHARS = 5_000


class SlidingWindowLimiter:
    """At most `limit` events per key in any `window` seconds, remembered in this process.

    Keys whose events have all left the window are forgotten, so memory stays bounded by the
    clients active in one window (and by `max_keys`: the stalest keys go first when it is passed).
    """

    def __init__(
        self, limit: int, window: float, *, max_keys: int = 100_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if limit < 1 or window <= 0:
            raise ValueError("a rate limit needs limit >= 1 and window > 0")
        self.limit = limit
        self.window = window
        self.max_keys = max_keys
        self.clock = clock
        self._events: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str) -> float:
        """Count one event for key: 0.0 if allowed, else the seconds until the next one would be."""
        now = self.clock()
        with self._lock:
            events = self._events.get(key)
            if events is None:
                if len(self._events) >= self.max_keys:
                    self._prune(now)
                events = self._events[key] = deque()
            while events and events[0] <= now - self.window:
                events.popleft()
            if len(events) >= self.limit:
                return max(events[0] + self.window - now, 0.001)
            events.append(now)
            return 0.0

    def _prune(self, now: float) -> None:
        for key in [k for k, ev in self._events.items() if not ev or ev[-1] <= now - self.window]:
            del self._events[key]
        while len(self._events) >= self.max_keys:  # all active: forget the stalest
            stalest = min(self._events, key=lambda k: self._events[k][-1])
            del self._events[stalest]


_LIMITER_LOCK = threading.Lock()


def _limiter(request: Request, state: AppState) -> SlidingWindowLimiter:
    """The app's limiter for public reports, made on first use from the settings."""
    limiter: SlidingWindowLimiter | None = getattr(request.app.state, "public_report_limiter", None)
    if limiter is None:
        with _LIMITER_LOCK:
            limiter = getattr(request.app.state, "public_report_limiter", None)
            if limiter is None:
                s = state.settings
                limiter = SlidingWindowLimiter(int(s.public_report_limit), float(s.public_report_window_seconds))
                request.app.state.public_report_limiter = limiter
    return limiter


def _one_line(value: str, name: str) -> str:
    text = " ".join(value.split())
    if not text:
        raise ValueError(f"{name} is empty")
    return text


class PublicReport(BaseModel):
    """What a member of the public reports."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    product: Annotated[str, Field(min_length=1, max_length=200, description="the product concerned")]
    description: Annotated[
        str, Field(min_length=5, max_length=MAX_DESCRIPTION_CHARS, description="what happened, in your words")
    ]
    contact: Annotated[str | None, Field(max_length=200, description="phone or e-mail, optional; never published")] = (
        None
    )
    link: Annotated[
        str | None, Field(max_length=2_000, description="a web page about it (http or https), optional")
    ] = None

    @field_validator("product")
    @classmethod
    def _product(cls, v: str) -> str:
        return _one_line(v, "product")

    @field_validator("description")
    @classmethod
    def _description(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("description is empty")
        if any(ord(ch) < 0x20 and ch not in "\n\r\t" for ch in v):
            raise ValueError("description contains control characters")
        return v

    @field_validator("contact", "link")
    @classmethod
    def _optional(cls, v: str | None) -> str | None:
        if v is None:
            return None
        return " ".join(v.split()) or None


def client_key(request: Request) -> str:
    """The client the rate limit counts against: its IP address as the server sees it."""
    return request.client.host if request.client else "unknown"


def _masked(text: str, contact: str | None) -> str:
    if contact:
        text = text.replace(contact, CONTACT_MASK)
    return mask_pii(text)


def build_document(report: PublicReport, *, allow_private: bool = False) -> RawDocument:
    """The stored form of a report: contact in meta only, link checked (not fetched) and its verdict kept."""
    meta: dict[str, Any] = {"channel": "public_report"}
    url: str | None = None
    if report.contact:
        meta["contact"] = report.contact
    if report.link:
        verdict = check_url(report.link, allow_private=allow_private)
        meta["link"] = report.link
        meta["link_check"] = verdict.to_dict()
        if verdict.allowed:
            url = report.link
    return RawDocument(
        source=PUBLIC_SOURCE,
        source_type=SourceType.public_report,
        source_id=stable_id(report.product, report.description, report.contact, prefix="p"),
        title=_masked(report.product, report.contact),
        product=_masked(report.product, report.contact),
        text=_masked(report.description, report.contact),
        url=url,
        meta=meta,
    )


def _store_and_process(state: AppState, store: Store, pipeline: Pipeline | None, doc: RawDocument) -> dict[str, Any]:
    outcome = state.submission(store, pipeline).documents([doc])
    return {"duplicate": not outcome.document_ids, "processed": outcome.processed}


@router.post(
    "",
    status_code=201,
    summary="Report risk information (no login needed)",
    responses={
        200: {"description": "the same report was received before; nothing added"},
        422: {"description": "a field is missing or invalid; the details name it"},
        429: {"description": "too many reports from this client; retry after Retry-After seconds"},
    },
)
async def post_public_report(request: Request, report: PublicReport, state: StateDep, store: StoreDep) -> JSONResponse:
    doc, duplicate = await receive_public_report(request, state, store, report)
    body = {
        "id": doc.id,
        "document_url": document_url(doc.id),
        "duplicate": duplicate,
        "link_check": doc.meta.get("link_check"),
        "message": PUBLIC_REPLY_DUPLICATE if duplicate else PUBLIC_REPLY,
    }
    return JSONResponse(body, status_code=200 if duplicate else 201)


async def receive_public_report(
    request: Request, state: AppState, store: Store, report: PublicReport, *, meta: dict[str, Any] | None = None
) -> tuple[RawDocument, bool]:
    """Count the report against its client's rate limit (429 beyond it), then store and process it, with `meta`
    added to the document's: the stored document and whether it had been received before. The API's route and
    the console's public-report form both send reports here."""
    wait = _limiter(request, state).hit(client_key(request))
    if wait:
        retry = max(1, math.ceil(wait))
        raise ApiError(
            429,
            "too_many_requests",
            f"提交过于频繁，请在 {retry} 秒后再试（too many reports from this address）",
            [
                {
                    "limit": state.settings.public_report_limit,
                    "window_seconds": state.settings.public_report_window_seconds,
                }
            ],
            headers={"Retry-After": str(retry)},
        )
    doc = await run_in_threadpool(build_document, report, allow_private=bool(state.settings.allow_private_urls))
    doc.meta.update(meta or {})
    pipeline = await get_pipeline(state)
    outcome = await state.run_write(_store_and_process, state, store, pipeline, doc)
    return doc, bool(outcome["duplicate"])
