"""POST /api/v1/analyze: texts in, risk judgements out, in input order; nothing is stored."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from riskmine.api.deps import AnalyzerDep, StateDep, get_pipeline
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
        200: {
            "description": "a JSON array, one answer per input in input order: a result, or in a rejected input's "
            'place {"id": str|null, "error": "row N: <reason>", "row": N, "field": str|null}'
        },
        413: {"description": f"body over the size limit, or more than {MAX_ANALYZE_ITEMS:,} items"},
        422: {"description": "the body is not a batch (empty, or not an array of values)"},
    },
)
async def analyze(request: Request, state: StateDep, _user: AnalyzerDep) -> JSONResponse:
    from riskmine.analyze import rejected_result

    max_items = int(getattr(state.settings, "max_analyze_items", None) or MAX_ANALYZE_ITEMS)
    batch = await read_batch(request, max_items)
    answers: dict[int, dict[str, Any] | None] = {}
    rejected: list[RowError] = list(batch.errors)
    if batch.items:
        pipeline = await get_pipeline(state)
        results, rejections = await run_in_threadpool(_analyze, pipeline, batch.items)
        answers = dict(zip(batch.rows, results, strict=True))
        rejected.extend(remap_rejection(r, batch.rows) for r in rejections)
    sent = dict(zip(batch.rows, batch.items, strict=True))
    for e in rejected:
        answers[e.row] = rejected_result(sent.get(e.row), e.row, f"row {e.row}: {e.reason}", e.field)
    return JSONResponse([answers[row] for row in sorted(answers)])
