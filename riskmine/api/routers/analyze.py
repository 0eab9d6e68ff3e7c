"""POST /api/v1/analyze: texts in, risk judgements out, in input order; nothing is stored."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from riskmine.api.deps import AnalyzerDep, StateDep, get_pipeline
from riskmine.api.errors import ApiError
from riskmine.api.payload import RowError, read_batch, remap_rejection
from riskmine.pipeline import Pipeline

router = APIRouter(prefix="/api/v1/analyze", tags=["analyze"])

MAX_ANALYZE_ITEMS = 10_000


def _analyze(pipeline: Pipeline, items: list[Any]) -> tuple[list[dict[str, Any] | None], list[Any]]:
    from riskmine.analyze import analyze_rows

    return analyze_rows(items, pipeline)


@router.post(
    "",
    summary="Analyse texts without storing them (JSON array, or NDJSON with Content-Type application/x-ndjson)",
    responses={
        200: {"description": "one result per input, in input order"},
        207: {"description": '{"results": [... null where rejected ...], "rejected": [...]}'},
        413: {"description": f"body over the size limit, or more than {MAX_ANALYZE_ITEMS:,} items"},
        422: {"description": "no input was valid"},
    },
)
async def analyze(request: Request, state: StateDep, _user: AnalyzerDep) -> JSONResponse:
    max_items = int(getattr(state.settings, "max_analyze_items", None) or MAX_ANALYZE_ITEMS)
    batch = await read_batch(request, max_items)
    results_by_row: dict[int, dict[str, Any] | None] = {}
    rejected: list[RowError] = list(batch.errors)
    if batch.items:
        pipeline = await get_pipeline(state)
        results, rejections = await run_in_threadpool(_analyze, pipeline, batch.items)
        results_by_row = dict(zip(batch.rows, results, strict=True))
        rejected.extend(remap_rejection(r, batch.rows) for r in rejections)
    rejected.sort(key=lambda e: e.row)
    ordered_rows = sorted([*batch.rows, *(e.row for e in batch.errors)])
    results_out = [results_by_row.get(row) for row in ordered_rows]
    if not rejected:
        return JSONResponse(results_out)
    details = [e.to_dict() for e in rejected]
    if all(r is None for r in results_out):
        raise ApiError(422, "no_valid_rows", f"none of the {batch.size} inputs was valid; see details", details)
    return JSONResponse({"results": results_out, "rejected": details}, status_code=207)
