"""The FastAPI application: JSON API under /api/v1, /health, the review console, OpenAPI at /docs and /redoc."""

from __future__ import annotations

import gc
import logging
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.staticfiles import StaticFiles
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from riskmine import __version__
from riskmine.api.auth import check_secret
from riskmine.api.docs import install_docs
from riskmine.api.errors import install_error_handlers
from riskmine.api.fastpath import FastPath
from riskmine.api.limits import BodySizeLimit
from riskmine.api.render import STATIC_DIR, build_templates
from riskmine.api.routers import (
    advisories,
    alerts,
    analyze,
    audit,
    auth,
    candidates,
    console,
    documents,
    enterprises,
    graph,
    health,
    public_reports,
    reports,
    review,
    signals,
    sources,
    stations,
)
from riskmine.api.routers import users as users_router
from riskmine.api.state import AppState
from riskmine.pipeline import Pipeline
from riskmine.review.alert_delivery import AlertWorker, Context, context_for
from riskmine.review.repository import open_review_repository
from riskmine.review.users import UserStore
from riskmine.settings import Settings, get_settings
from riskmine.store.base import Store

log = logging.getLogger("riskmine.api")

DESCRIPTION = """
Product quality-safety risk signals mined from Chinese text.

* **documents**: submit batches (JSON array or NDJSON); they are stored, processed and grouped into candidates.
* **signals**: processed documents, searchable and filterable.
* **candidates**: candidate risks for expert review, with their evidence linking back to the sources.
* **analyze**: judge texts without storing them.

Authenticate with `POST /api/v1/auth/token` (bearer token) or an `X-API-Key` header.
Every error is `{"error": {"code", "message", "details"}}`.
"""


def _recover(state: AppState, stop: threading.Event) -> None:
    try:
        state.recover(stop)
    except Exception:  # recovery must never take the server down; the next start tries again
        log.exception("recovering interrupted work")


def _alert_context(state: AppState) -> Context | None:
    """What the alert sender works with (riskmine.review.alert_delivery), once the store is open."""
    if state.store is None:
        return None
    return context_for(state.settings, state.store, open_review_repository(state.settings), state.users.repository)


_frozen = False


def _freeze_startup_heap() -> None:
    """Move what start-up allocated (modules, the store, templates, models: long-lived) out of the collector's
    reach, once per process. Otherwise every full collection walks it all: 80-143 ms passes that were the whole
    1-client p99 tail of the queue API (issue 18: p99 113 → 9 ms with this). Garbage is collected first so
    that none of it is kept; objects made later are collected as usual."""
    global _frozen
    if _frozen:
        return
    _frozen = True
    gc.collect()
    gc.freeze()


def create_app(
    settings: Settings | None = None,
    *,
    store: Store | None = None,
    users: UserStore | None = None,
    pipeline_factory: Callable[[Settings, Any], Pipeline] | None = None,
) -> FastAPI:
    """The application. The store is opened at startup (unless one is given) and closed at shutdown;
    the pipeline is built on first use. Raises InsecureSecretError outside development with the default secret.
    """
    settings = settings or get_settings()
    check_secret(settings)
    state = AppState(
        settings=settings,
        users=users or UserStore.from_settings(settings),
        store=store,
        pipeline_factory=pipeline_factory,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if state.store is None:
            from riskmine.store.factory import open_store

            settings.var_dir.mkdir(parents=True, exist_ok=True)
            state.store = await run_in_threadpool(open_store, settings)
            state.owns_store = True
        _freeze_startup_heap()
        # what a killed server left half done is finished in the background (the API serves meanwhile)
        stop_recovery = threading.Event()
        recovery = threading.Thread(target=_recover, args=(state, stop_recovery), name="recovery", daemon=True)
        recovery.start()
        # alerts are sent off the request path, by a thread of their own (a failing endpoint blocks nothing)
        alert_worker = AlertWorker(lambda: _alert_context(state), settings.alert_poll_seconds)
        if settings.alert_worker:
            alert_worker.start()
        try:
            yield
        finally:
            alert_worker.stop()
            stop_recovery.set()
            recovery.join(timeout=30)
            state.close()
            if state.owns_store and state.store is not None:
                state.store.close()
                state.store = None
                state.owns_store = False

    app = FastAPI(
        title="riskmine",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # served by install_docs, from local files
        redoc_url=None,
    )
    app.state.riskmine = state
    app.state.templates = build_templates()
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_upload_bytes)
    if settings.trusted_proxy_list:  # X-Forwarded-For is believed from these peers only (never by default)
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxy_list)
    # added last, so outermost: cached list views answered ahead of the rest (riskmine.api.fastpath)
    app.add_middleware(FastPath, state=state)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    install_docs(app)
    routers = (
        health,
        auth,
        users_router,
        documents,
        signals,
        candidates,
        analyze,
        stations,
        public_reports,
        sources,
        graph,
        enterprises,
        review,
        advisories,
        alerts,
        audit,
        reports,
        console,
    )
    for module in routers:
        app.include_router(module.router)
    return app
