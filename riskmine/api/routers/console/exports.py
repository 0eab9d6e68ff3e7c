"""Exports of the queue (candidates) and the signals page: CSV or XLSX of exactly what the page's filter shows, every
page of it, up to ``RISKMINE_EXPORT_MAX_ROWS`` (past it the file ends with a Chinese line saying so).

The pages' own query parameters select the rows, read as those pages read them (an unknown value is "any"); the
user's organisation scope applies as on the pages. CSV is streamed in chunks while the store is read page by page;
the spreadsheets are written by :mod:`riskmine.reports.tabular` (formula injection guarded)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from enum import Enum
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response, StreamingResponse

from riskmine.api.deps import OptionalUserDep, ReviewDBDep, SettingsDep, StoreDep
from riskmine.api.errors import ApiError
from riskmine.api.filters import build_filters, within_sources
from riskmine.api.render import SECURITY_HEADERS, fmt_time
from riskmine.api.routers.console import pagekit
from riskmine.api.routers.console.queue import scoped_page, tiered_page
from riskmine.api.routers.console.saved_filters import reader_or_redirect
from riskmine.reports.monthly_render import CSV_MEDIA_TYPE, XLSX_MEDIA_TYPE
from riskmine.reports.tabular import Cell, csv_chunks, xlsx_bytes
from riskmine.review import orgs, visibility
from riskmine.review.repository import ReviewRepository
from riskmine.review.users import User
from riskmine.schema import CandidateRisk, CandidateStatus, HazardType, RiskLevel, Signal, SourceType, Tier
from riskmine.schema.labels import (
    CANDIDATE_EXPORT_COLUMNS,
    EXPORT_TRUNCATED,
    HAZARD_LABELS,
    RISK_LEVEL_LABELS,
    SIGNAL_EXPORT_COLUMNS,
    SOURCE_TYPE_LABELS,
    STATUS_LABELS,
    TIER_LABELS,
    WARNING_COLOR_LABELS,
    YES_NO_LABELS,
)
from riskmine.store.base import Collection, Page, Store

router = APIRouter()

CHUNK = 500  # rows read from the store at a time
TEXT_CHARS = 500  # of a signal's text in an export
# The filters of each page: (parameter, the enum its value must name, or None for free text).
QUEUE_FILTERS: tuple[tuple[str, type[Enum] | None], ...] = (
    ("tier", Tier),
    ("status", CandidateStatus),
    ("hazard", HazardType),
    ("risk_level", RiskLevel),
    ("product_category", None),
    ("region", None),
)
SIGNAL_FILTERS: tuple[tuple[str, type[Enum] | None], ...] = (("source_type", SourceType), ("hazard", HazardType))
Rows = Iterator[list[Cell]]


def _chosen(request: Request, fields: tuple[tuple[str, type[Enum] | None], ...]) -> dict[str, Any]:
    params = request.query_params
    return {
        name: pagekit.enum_param(kind, params.get(name)) if kind else pagekit.text_param(params.get(name))
        for name, kind in fields
    }


def _label(table: dict[str, str], value: Enum | None) -> str:
    return table.get(value.value, value.value) if value is not None else ""


def candidate_row(c: CandidateRisk) -> list[Cell]:
    values: dict[str, Cell] = {
        "id": c.id,
        "tier": _label(TIER_LABELS, c.tier),
        "title": c.title,
        "product_category": c.product_category,
        "hazard": _label(HAZARD_LABELS, c.hazard),
        "signal_count": c.signal_count,
        "event_count": c.event_count,
        "first_seen": _time(c.first_seen),
        "last_seen": _time(c.last_seen),
        "risk_level": _label(RISK_LEVEL_LABELS, c.grade.risk_level),
        "warning_color": _label(WARNING_COLOR_LABELS, c.grade.warning_color),
        "status": _label(STATUS_LABELS, c.status),
        "assignee": c.assignee,
        "organisation": c.organisation,
        "due_at": _time(c.due_at),
    }
    return [values[k] for k in CANDIDATE_EXPORT_COLUMNS]


def signal_row(s: Signal) -> list[Cell]:
    doc = s.document
    text = s.normalized_text or doc.text
    values: dict[str, Cell] = {
        "id": s.id,
        "when": _time(s.when),
        "source_type": _label(SOURCE_TYPE_LABELS, doc.source_type),
        "source": doc.source,
        "title": doc.title,
        "is_risk": YES_NO_LABELS[s.is_risk],
        "risk_score": round(s.risk_score, 4),
        "risk_level": _label(RISK_LEVEL_LABELS, s.risk_level),
        "hazards": "、".join(_label(HAZARD_LABELS, h) for h in s.hazard_codes),
        "product_category": s.product_category,
        "url": doc.url,
        "text": text if len(text) <= TEXT_CHARS else text[:TEXT_CHARS] + "…",
    }
    return [values[k] for k in SIGNAL_EXPORT_COLUMNS]


def _time(value: datetime | None) -> str:
    return fmt_time(value, "%Y-%m-%d %H:%M") if value else ""


def _paged(read: Callable[[int, int], Page], cap: int, row: Callable[[Any], list[Cell]]) -> tuple[int, Rows]:
    """How many match, and the rows of the first ``cap`` of them (read lazily, CHUNK at a time), ending with the
    Chinese line that says the export was cut when more match."""
    first = read(min(CHUNK, cap), 0)

    def rows() -> Rows:
        page, offset = first, 0
        while page.items and offset < cap:
            for item in page.items[: cap - offset]:
                yield row(item)
            offset += len(page.items)
            if offset >= min(cap, first.total):
                break
            page = read(min(CHUNK, cap - offset), offset)
        if first.total > cap:
            yield [EXPORT_TRUNCATED.format(cap=cap, total=first.total)]

    return first.total, rows()


def candidate_rows(store: Store, db: ReviewRepository, user: User, request: Request, cap: int) -> tuple[int, Rows]:
    """The candidates the queue shows for the request's filter, in the queue's order."""
    filters = build_filters(**_chosen(request, QUEUE_FILTERS))
    if orgs.scope_for(db, user).everything:
        return _paged(lambda limit, offset: tiered_page(store, filters, limit=limit, offset=offset), cap, candidate_row)
    scoped, _ = scoped_page(store, db, user, filters, limit=cap, offset=0)
    return _paged(
        lambda limit, offset: Page(items=scoped.items[offset : offset + limit], total=scoped.total), cap, candidate_row
    )


def signal_rows(store: Store, db: ReviewRepository, user: User, request: Request, cap: int) -> tuple[int, Rows]:
    """The signals the signals page shows for the request's search and filter, in the page's order."""
    chosen = _chosen(request, SIGNAL_FILTERS)
    chosen["is_risk"] = {"1": True, "0": False}.get(request.query_params.get("is_risk") or "")
    text = pagekit.text_param(request.query_params.get("q"))
    filters = within_sources(build_filters(**chosen), visibility.visible_sources(store, db, user))

    def read(limit: int, offset: int) -> Page:
        return store.query(
            Collection.signals,
            filters=filters,
            text=text,
            sort=None if text else "time",
            descending=True,
            limit=limit,
            offset=offset,
        )

    return _paged(read, cap, signal_row)


def _file(fmt: str, what: str, columns: list[str], rows: Rows) -> Response:
    stamp = datetime.now().strftime("%Y%m%d-%H%M")
    filename = f"{what}-{stamp}.{fmt}"
    headers = {
        **SECURITY_HEADERS,
        "Content-Disposition": f"attachment; filename=\"export-{stamp}.{fmt}\"; filename*=UTF-8''{quote(filename)}",
    }
    if fmt == "xlsx":
        return Response(xlsx_bytes(columns, rows, sheet=what), media_type=XLSX_MEDIA_TYPE, headers=headers)
    return StreamingResponse(csv_chunks(columns, rows), media_type=CSV_MEDIA_TYPE, headers=headers)


# what each export is: its name (the sheet's and the file's), its columns, and how its rows are selected
EXPORTS: dict[str, tuple[str, dict[str, str], Callable[..., tuple[int, Rows]]]] = {
    "candidates": ("候选风险", CANDIDATE_EXPORT_COLUMNS, candidate_rows),
    "signals": ("信号", SIGNAL_EXPORT_COLUMNS, signal_rows),
}


@router.get("/export/{kind}")
async def export(
    request: Request,
    kind: str,
    store: StoreDep,
    db: ReviewDBDep,
    settings: SettingsDep,
    user: OptionalUserDep,
    format: str = "csv",
) -> Response:
    """What the queue (``candidates``: the query parameters of /) or the signals page (``signals``: those of
    /signals) shows for its filter, every page, as CSV (``format=csv``, streamed) or XLSX (``format=xlsx``)."""
    who = reader_or_redirect(request, user)
    if isinstance(who, Response):
        return who
    if kind not in EXPORTS:
        raise ApiError(404, "not_found", f"没有“{kind}”这种导出；可导出：candidates（候选风险）、signals（信号）")
    what, columns, select = EXPORTS[kind]
    _, rows = await run_in_threadpool(select, store, db, who, request, settings.export_max_rows)
    fmt = format if format in ("csv", "xlsx") else "csv"
    if fmt == "xlsx":
        return await run_in_threadpool(_file, fmt, what, list(columns.values()), rows)
    return _file(fmt, what, list(columns.values()), rows)
