"""Crawl sources and their health: what `riskmine status` shows, as JSON.

Each configured source (sources.toml, or RISKMINE_CRAWL_SOURCES) with its spider, interval and
whether it is due, and from the crawl health file its last run, items, new items, errors, last
success, consecutive failures and whether it is flagged (failed RISKMINE_CRAWL_FAIL_THRESHOLD runs
in a row).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool

from riskmine.api.deps import ReaderDep, SettingsDep
from riskmine.api.errors import ApiError
from riskmine.crawler.health import FAIL_THRESHOLD, source_overview
from riskmine.crawler.sources import ConfigError, sources_file

router = APIRouter(prefix="/api/v1/sources", tags=["sources"])


@router.get("", summary="Crawl sources with their schedule and health (flagged when failing repeatedly)")
async def list_sources(settings: SettingsDep, _reader: ReaderDep) -> dict[str, Any]:
    try:
        items = await run_in_threadpool(source_overview, settings)
    except ConfigError as exc:
        raise ApiError(503, "sources_config_invalid", f"the crawl sources cannot be read: {exc}") from None
    return {
        "sources_file": str(sources_file()),
        "fail_threshold": FAIL_THRESHOLD,
        "flagged": [i["source"] for i in items if i["flagged"]],
        "items": items,
    }
