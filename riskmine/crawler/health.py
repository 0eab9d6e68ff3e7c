"""Crawl health per source (last run, items, new items, errors, last success, failures in a row),
kept in var/crawl/health.json; a source that failed FAIL_THRESHOLD runs in a row is flagged."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from riskmine.crawler.run import CrawlReport

FAIL_THRESHOLD = int(os.environ.get("RISKMINE_CRAWL_FAIL_THRESHOLD", "3"))


def crawl_dir(settings: Any) -> Path:
    return Path(settings.var_dir) / "crawl"


def health_path(settings: Any) -> Path:
    return crawl_dir(settings) / "health.json"


def _load(path: Path) -> dict[str, dict[str, Any]]:
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def record_run(settings: Any, report: CrawlReport, *, threshold: int = FAIL_THRESHOLD) -> dict[str, Any]:
    """Fold one run's report into the source's health record and return the record."""
    path = health_path(settings)
    data = _load(path)
    rec = data.get(report.source, {"runs": 0, "failures_in_a_row": 0, "last_success": None, "total_items": 0})
    rec["runs"] = int(rec.get("runs", 0)) + 1
    rec["last_run"] = report.finished_at
    rec["last_finish_reason"] = report.finish_reason
    rec["items"] = report.items
    rec["new_items"] = report.new_items
    rec["errors"] = report.errors
    rec["total_items"] = int(rec.get("total_items", 0)) + report.new_items
    if report.ok:
        rec["failures_in_a_row"] = 0
        rec["last_success"] = report.finished_at
        rec["last_error"] = None
    else:
        rec["failures_in_a_row"] = int(rec.get("failures_in_a_row", 0)) + 1
        rec["last_error"] = report.error or f"{report.errors} errors, finish reason {report.finish_reason!r}"
    rec["flagged"] = rec["failures_in_a_row"] >= threshold
    data[report.source] = rec
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True), encoding="utf-8")
    tmp.replace(path)
    return rec


def source_health(settings: Any) -> list[dict[str, Any]]:
    """One record per source that has run: source, runs, last_run, last_success, items, new_items,
    errors, failures_in_a_row, flagged, last_error (sorted by source)."""
    return [{"source": name, **rec} for name, rec in sorted(_load(health_path(settings)).items())]


def last_runs(settings: Any) -> dict[str, datetime]:
    out: dict[str, datetime] = {}
    for name, rec in _load(health_path(settings)).items():
        if rec.get("last_run"):
            try:
                out[name] = datetime.fromisoformat(rec["last_run"])
            except ValueError:
                continue
    return out


def utcnow_iso() -> str:
    return datetime.now(UTC).isoformat()
