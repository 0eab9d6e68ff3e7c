"""GET /health: liveness, store counts, version."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from riskmine import __version__
from riskmine.api.deps import StateDep
from riskmine.store.base import Collection

router = APIRouter(tags=["health"])


@router.get("/health", summary="Service health, store counts and version")
async def health(state: StateDep) -> JSONResponse:
    body: dict[str, Any] = {
        "status": "ok",
        "version": __version__,
        "env": state.settings.env,
        "pipeline_loaded": state.pipeline_loaded,
    }
    store = state.store
    if store is None:
        body.update(status="unavailable", store=None, message="the store is not open")
        return JSONResponse(body, status_code=503)

    def counts() -> dict[str, int]:
        out = {c.value: store.count(c) for c in Collection}
        out["risk_signals"] = store.count(Collection.signals, filters={"is_risk": True})
        return out

    try:
        body["store"] = await run_in_threadpool(counts)
    except Exception as exc:
        body.update(status="unavailable", store=None, message=f"the store cannot be read: {exc}")
        return JSONResponse(body, status_code=503)
    return JSONResponse(body)
