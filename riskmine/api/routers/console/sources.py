"""The crawl sources page: each source's schedule and health, and why its last run failed."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from riskmine.api.deps import OptionalUserDep, SettingsDep
from riskmine.api.routers.console import pagekit
from riskmine.crawler.health import FAIL_THRESHOLD, source_overview
from riskmine.crawler.sources import ConfigError

router = APIRouter()


@router.get("/sources")
async def sources_page(request: Request, settings: SettingsDep, user: OptionalUserDep) -> Response:
    """What GET /api/v1/sources gives, as a table; a source whose last run failed says why."""
    if user is None:
        return pagekit.login_redirect(request)
    if not pagekit.reads_review(user):  # an api_consumer reads published advisories only, as in the API
        return RedirectResponse("/advisories", status_code=303)
    try:
        rows = await run_in_threadpool(source_overview, settings)
        problem = None
    except ConfigError as exc:
        rows, problem = [], str(exc)
    context = {"user": user, "rows": rows, "problem": problem, "fail_threshold": FAIL_THRESHOLD}
    return pagekit.render(request, "sources.html", context)
