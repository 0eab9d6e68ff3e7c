"""Documents: submit a batch (stored, processed, candidates refreshed) and read one back."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from riskmine.api.deps import ReaderDep, ReviewDBDep, StateDep, StoreDep, WriterDep, get_pipeline
from riskmine.api.errors import ApiError, not_found
from riskmine.api.payload import RowError, read_batch, remap_rejection
from riskmine.api.state import AppState
from riskmine.api.views import document_url, document_view
from riskmine.feeds.messages import json_kind, message
from riskmine.pipeline import Pipeline
from riskmine.review import visibility
from riskmine.review.roles import Role, submission_source
from riskmine.schema import SourceType
from riskmine.store.base import Collection, Store

router = APIRouter(prefix="/api/v1/documents", tags=["documents"])

MAX_DOCUMENTS_PER_REQUEST = 10_000
INLINE_WRITE_ROWS = 32  # up to this many rows stored without processing: a write of milliseconds (run_short_write)


def _submit(
    state: AppState,
    store: Store,
    pipeline: Pipeline | None,
    rows: list[tuple[int, dict[str, Any]]],
    source: tuple[str, bool],
    source_type: SourceType | None,
) -> dict[str, Any]:
    """Store the rows, process the new documents and refresh candidates, one batch at a time.
    ``source``: (the source, whether it replaces the rows' own), from roles.submission_source."""
    outcome = state.submission(store, pipeline).rows(
        [item for _, item in rows], source=source[0], source_type=source_type, fixed_source=source[1]
    )
    assert outcome.ingest is not None
    report = outcome.ingest
    return {
        "accepted": int(report.accepted),
        "duplicates": int(report.duplicates),
        "rejected": [remap_rejection(r, [row for row, _ in rows]) for r in report.rejected],
        "document_ids": outcome.document_ids,
        "processed": outcome.processed,
        "risks": outcome.risks,
        "candidates": outcome.candidates,
        "queued": outcome.queued,  # sent to the task queue (RISKMINE_QUEUE_URL): a worker processes them
    }


@router.post(
    "",
    status_code=201,
    summary="Submit a batch of documents (JSON array, or NDJSON with Content-Type application/x-ndjson)",
    responses={
        207: {"description": "some rows were rejected; the others were stored"},
        413: {"description": "body or item count over the limit"},
        415: {"description": "neither JSON nor NDJSON"},
        422: {"description": "no row was valid"},
    },
)
async def submit_documents(
    request: Request,
    state: StateDep,
    store: StoreDep,
    user: WriterDep,
    source: Annotated[
        str | None,
        Query(
            max_length=100,
            description="source for rows that name none; a station's documents are always station:<organisation>",
        ),
    ] = None,
    source_type: Annotated[SourceType | None, Query(description="source type for rows that name none")] = None,
    process: Annotated[bool, Query(description="run the NLP pipeline and refresh candidates")] = True,
) -> JSONResponse:
    batch = await read_batch(request, MAX_DOCUMENTS_PER_REQUEST)
    errors: list[RowError] = list(batch.errors)
    rows: list[tuple[int, dict[str, Any]]] = []
    for row, item in zip(batch.rows, batch.items, strict=True):
        if isinstance(item, dict):
            rows.append((row, item))
        else:
            errors.append(RowError(row, message("not_json_object", kind=json_kind(item))))
    # Build the pipeline first: if it cannot be built, nothing is stored half-done.
    pipeline = await get_pipeline(state) if process and rows else None
    result: dict[str, Any] = {
        "accepted": 0,
        "duplicates": 0,
        "rejected": [],
        "document_ids": [],
        "processed": 0,
        "risks": 0,
        "candidates": None,
    }
    if rows:
        chosen_source = submission_source(user, source)
        # a few rows stored without processing are a short write: on the event loop when the lock is free (issue 18)
        run = state.run_short_write if pipeline is None and len(rows) <= INLINE_WRITE_ROWS else state.run_write
        result = await run(_submit, state, store, pipeline, rows, chosen_source, source_type)
    rejected = sorted([*errors, *result["rejected"]], key=lambda e: e.row)
    valid = result["accepted"] + result["duplicates"]
    details = [e.to_dict() for e in rejected]
    if valid == 0:
        raise ApiError(
            422,
            "no_valid_rows",
            f"none of the {batch.size} rows was accepted; the details name each row's problem",
            details,
        )
    body = {
        **result,
        "rows": batch.size,
        "rejected": details,
        "document_urls": [document_url(i) for i in result["document_ids"]],
    }
    return JSONResponse(body, status_code=207 if rejected else 201)


@router.get("/{document_id}", summary="One stored document, as submitted (personal data masked)")
def get_document(document_id: str, store: StoreDep, reader: ReaderDep, db: ReviewDBDep) -> dict[str, Any]:
    doc = store.get(Collection.documents, document_id)
    if doc is None or not visibility.source_scope(db, reader).sees(doc.source):
        raise not_found("document", document_id)
    return document_view(doc, show_private=reader.role is Role.admin)
