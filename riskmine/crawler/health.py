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
        rec["last_failure"] = None
    else:
        rec["failures_in_a_row"] = int(rec.get("failures_in_a_row", 0)) + 1
        rec["last_error"] = report.error or f"{report.errors} errors, finish reason {report.finish_reason!r}"
        rec["last_failure"] = {
            "code": report.failure or ("crawl_error" if report.error else "errors"),
            "status": report.failure_status,
            "label": report.failure_label,
        }
    rec["flagged"] = rec["failures_in_a_row"] >= threshold
    data[report.source] = rec
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True), encoding="utf-8")
    tmp.replace(path)
    return rec


def source_health(settings: Any) -> list[dict[str, Any]]:
    """One record per source that has run: source, runs, last_run, last_success, items, new_items,
    errors, failures_in_a_row, flagged, last_error, last_failure ({code, status, label}: why the last run
    failed, None after a success) (sorted by source)."""
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


def interval_text(seconds: float) -> str:
    """A duration the way sources.toml writes it: '30m', '6h', '1d', '1w' (or '90s')."""
    for unit, size in (("w", 604_800), ("d", 86_400), ("h", 3_600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def source_overview(
    settings: Any, sources: dict[str, Any] | None = None, *, now: datetime | None = None
) -> list[dict[str, Any]]:
    """Every configured source with its schedule and health, and sources that ran but are no longer
    configured (``configured: false``), sorted by name. What `GET /api/v1/sources` and `riskmine
    status` show. Raises ConfigError when the sources file cannot be read."""
    from riskmine.crawler.sources import load_sources

    sources = load_sources() if sources is None else sources
    now = now or datetime.now(UTC)
    records = _load(health_path(settings))
    out: list[dict[str, Any]] = []
    for name in sorted(set(sources) | set(records)):
        rec = records.get(name, {})
        src = sources.get(name)
        interval = src.interval.total_seconds() if src is not None else None
        last_run = rec.get("last_run")
        due: bool | None = None
        if src is not None:
            due = bool(src.enabled)
            if due and last_run:
                try:
                    due = (now - datetime.fromisoformat(last_run)).total_seconds() >= (interval or 0)
                except (TypeError, ValueError):
                    due = True
        out.append(
            {
                "source": name,
                "configured": src is not None,
                "spider": src.spider if src is not None else None,
                "source_type": src.source_type if src is not None else None,
                "enabled": bool(src.enabled) if src is not None else False,
                "interval": interval_text(interval) if interval is not None else None,
                "interval_seconds": interval,
                "runs": int(rec.get("runs", 0)),
                "last_run": last_run,
                "last_finish_reason": rec.get("last_finish_reason"),
                "items": int(rec.get("items", 0)),
                "new_items": int(rec.get("new_items", 0)),
                "total_items": int(rec.get("total_items", 0)),
                "errors": int(rec.get("errors", 0)),
                "last_success": rec.get("last_success"),
                "consecutive_failures": int(rec.get("failures_in_a_row", 0)),
                "flagged": bool(rec.get("flagged", False)),
                "last_error": rec.get("last_error"),
                "last_failure": rec.get("last_failure"),
                "failure_reason": (rec.get("last_failure") or {}).get("label"),
                "due": due,
            }
        )
    return out
