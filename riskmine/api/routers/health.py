"""GET /health: liveness, store counts, version, and the risk model the classify stage serves."""

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
    body["risk_model"] = _risk_model(state.settings)
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


def _risk_model(settings: Any) -> dict[str, Any]:
    """The served risk model's name and version (None: not trained yet), from the registry; nothing is loaded."""
    from riskmine.models.registry import ModelNotFoundError, current_version, serving_name

    try:
        name = serving_name(settings)
    except ModelNotFoundError as exc:  # RISKMINE_RISK_MODEL names no model
        return {"name": None, "version": None, "message": str(exc)}
    return {"name": name, "version": current_version(settings, name)}
