"""Run one source's crawl in a fresh process (Twisted's reactor cannot restart), and read back its report.

    python -m riskmine.crawler.run SOURCE --report report.json [--start-urls a,b] [--set KEY=VALUE ...]

:func:`crawl` does that from Python and records the run in the crawl health file. The crawl keeps its
state in var/crawl/jobs/SOURCE (JOBDIR) while unfinished, so a killed or interrupted crawl resumes
where it stopped; the state is cleared when a crawl finishes, so the next run starts from the feeds
and list pages again (detail pages already stored are skipped, others revalidated via the HTTP cache).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from riskmine.crawler import frontier, health
from riskmine.crawler.extract import DAMAGED_FEED_STAT
from riskmine.schema.labels import crawl_failure_label

NORMAL_FINISH = ("finished", "closespider_itemcount", "closespider_pagecount", "closespider_timeout")


@dataclass
class CrawlReport:
    """What one crawl did."""

    source: str
    started_at: str
    finished_at: str
    finish_reason: str | None = None
    items: int = 0  # items handed to the ingest service
    new_items: int = 0  # documents newly stored
    duplicates: int = 0
    rejected: int = 0
    errors: int = 0
    requests: int = 0
    responses: int = 0
    revalidated: int = 0  # cached responses revalidated (conditional requests)
    seen_skipped: int = 0  # detail pages skipped as already fetched
    robots_forbidden: int = 0
    returncode: int = 0
    error: str | None = None
    failure: str | None = None  # why a crawl that gave nothing failed (a CRAWL_FAILURE_LABELS code)
    failure_status: int | None = None  # the HTTP status, for the http_* failures

    @property
    def ok(self) -> bool:
        """The crawl ran to a normal end and did not only fail."""
        if self.returncode != 0 or self.error or self.failure or self.finish_reason not in NORMAL_FINISH:
            return False
        return not (self.errors and not self.items)

    @property
    def failure_label(self) -> str | None:
        """Why the crawl failed, in Chinese with the technical term (连接被拒绝（connection refused）)."""
        if self.ok:
            return None
        return crawl_failure_label(self.failure or ("crawl_error" if self.error else "errors"), self.failure_status)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok, "failure_label": self.failure_label}


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def jobdir(var_dir: Path, source: str) -> Path:
    return Path(var_dir).resolve() / "crawl" / "jobs" / source


# Written into the JOBDIR when a crawl stops cleanly (Scrapy has saved its queue); a JOBDIR without it
# was left by a killed process.
CLEAN_STOP = "riskmine-clean-stop"


def prepare_jobdir(job: Path) -> bool:
    """Make a JOBDIR safe to resume from; True when a killed crawl's state had to be dropped.

    Scrapy saves its request queue only when it stops cleanly, but appends to the duplicate filter's
    file as it goes: after SIGKILL (or a power cut) the queue is lost while requests that were in it
    count as seen, and resuming would never fetch them. Such a JOBDIR is dropped: the crawl starts
    again from its start pages, and the detail pages already stored are skipped (seen.py), so nothing
    is lost and nothing is stored twice.
    """
    job = Path(job)
    marker = job / CLEAN_STOP
    dropped = False
    if job.exists() and not marker.exists():
        shutil.rmtree(job, ignore_errors=True)
        dropped = True
    marker.unlink(missing_ok=True)  # a crawl killed from now on leaves no marker
    return dropped


# Download exceptions (Scrapy's downloader/exception_type_count/<class>) by the failure they mean.
# (twisted.internet.error.ConnectionRefusedError, scrapy.exceptions.DownloadConnectionRefusedError, ...);
# IgnoreRequest is a request dropped on purpose (robots.txt, already seen), not a download failure.
_EXCEPTION_FAILURES = (("ConnectionRefused", "connection_refused"), ("DNSLookup", "dns_error"), ("Timeout", "timeout"))
_NOT_FAILURES = ("IgnoreRequest",)


def failure_from_stats(stats: dict[str, Any]) -> tuple[str, int | None] | None:
    """Why a crawl that stored nothing failed, from its Scrapy stats: the pages could not be downloaded
    (connection refused, DNS, timeout), were refused (HTTP 4xx/5xx), robots.txt forbade them, or could not
    be parsed; None when nothing points at a failure (a crawl with nothing new is not a failure). A feed that
    was cut off or malformed fails its crawl even when the entries read from it were stored."""
    if int(stats.get(DAMAGED_FEED_STAT, 0) or 0):
        return "feed_damaged", None
    if int(stats.get("riskmine/items", 0) or 0):
        return None
    prefix = "downloader/exception_type_count/"
    exceptions = [k.removeprefix(prefix).rsplit(".", 1)[-1] for k, v in stats.items() if k.startswith(prefix) and v]
    exceptions = [e for e in exceptions if e not in _NOT_FAILURES]
    for name, code in _EXCEPTION_FAILURES:
        if any(name in e for e in exceptions):
            return code, None
    if exceptions:
        return "download_error", None
    prefix = "httperror/response_ignored_status_count/"
    statuses = sorted((int(v), int(k.removeprefix(prefix))) for k, v in stats.items() if k.startswith(prefix) and v)
    if statuses:
        status = statuses[-1][1]  # the most frequent
        code = "http_forbidden" if status in (401, 403) else "http_not_found" if status in (404, 410) else "http_error"
        return code, status
    if int(stats.get("robotstxt/forbidden", 0) or 0):
        return "robots_forbidden", None
    if int(stats.get("riskmine/extract_errors", 0) or 0) or int(stats.get("spider_exceptions/count", 0) or 0):
        return "parse_error", None
    return None


def _report_from_stats(source: str, started: str, stats: dict[str, Any]) -> CrawlReport:
    def n(key: str) -> int:
        return int(stats.get(key, 0) or 0)

    errors = n("log_count/ERROR")
    failure, status = failure_from_stats(stats) or (None, None)
    return CrawlReport(
        source=source,
        started_at=started,
        finished_at=_now(),
        finish_reason=stats.get("finish_reason"),
        items=n("riskmine/items"),
        new_items=n("riskmine/new_items"),
        duplicates=n("riskmine/duplicates"),
        rejected=n("riskmine/rejected"),
        errors=errors,
        requests=n("downloader/request_count"),
        responses=n("downloader/response_count"),
        revalidated=n("httpcache/revalidate"),
        seen_skipped=n("riskmine/seen_skipped"),
        robots_forbidden=n("robotstxt/forbidden"),
        failure=failure,
        failure_status=status,
    )


def run_in_process(
    source: str, *, start_urls: list[str] | None = None, overrides: dict[str, Any] | None = None
) -> CrawlReport:
    """Run the crawl in this process (once per process: the reactor cannot restart)."""
    from scrapy.crawler import CrawlerProcess
    from scrapy.settings import Settings as ScrapySettings
    from scrapy.spiderloader import SpiderLoader

    from riskmine.crawler.sources import load_sources
    from riskmine.settings import get_settings

    sources = load_sources()
    if source not in sources:
        raise SystemExit(f"unknown source {source!r}; configured: {', '.join(sorted(sources)) or 'none'}")
    cfg = sources[source]
    settings = get_settings()
    var_dir = Path(settings.var_dir).resolve()
    scrapy_settings = ScrapySettings()
    scrapy_settings.setmodule("riskmine.crawler.settings", priority="project")
    scrapy_settings.set("HTTPCACHE_DIR", str(var_dir / "crawl" / "httpcache"), priority="project")
    seen_db = settings.database_url or str(var_dir / "crawl" / "seen.sqlite3")  # shared crawl state, else a file
    scrapy_settings.set("RISKMINE_SEEN_DB", seen_db, priority="project")
    redis_url = settings.redis_url
    round_id = str((overrides or {}).get(frontier.ROUND) or frontier.frontier_round(cfg.interval))
    if redis_url:
        # The frontier lives in Redis, shared with other processes: no JOBDIR (it is per process).
        for key, value in frontier.frontier_settings(source, redis_url, round_id).items():
            scrapy_settings.set(key, value, priority="project")
    else:
        job_path = jobdir(var_dir, source)
        if prepare_jobdir(job_path):
            print(
                f"{source}: the previous crawl was killed before it could save its queue; "
                "starting again from the start pages (pages already stored are skipped)",
                file=sys.stderr,
            )
        scrapy_settings.set("JOBDIR", str(job_path), priority="project")
    for key, value in cfg.scrapy_settings.items():
        scrapy_settings.set(key, value, priority="spider")
    for key, value in (overrides or {}).items():
        scrapy_settings.set(key, value, priority="cmdline")
    started = _now()
    process = CrawlerProcess(scrapy_settings, install_root_handler=True)
    spider_cls = SpiderLoader.from_settings(scrapy_settings).load(cfg.spider)
    crawler = process.create_crawler(spider_cls)
    kwargs: dict[str, Any] = {"source": source}
    if start_urls:
        kwargs["start_urls"] = ",".join(start_urls)
    process.crawl(crawler, **kwargs)
    process.start()
    stats = crawler.stats.get_stats() if crawler.stats else {}
    report = _report_from_stats(source, started, stats)
    job = scrapy_settings.get("JOBDIR")
    if report.finish_reason == "finished" and job:
        shutil.rmtree(job, ignore_errors=True)
    elif job and Path(job).is_dir():
        (Path(job) / CLEAN_STOP).write_text(str(report.finish_reason), encoding="utf-8")
    if redis_url and report.finish_reason == "finished":
        frontier.expire_round(redis_url, source, round_id, 2 * cfg.interval)
    return report


def crawl_command(
    source: str,
    settings: Any,
    *,
    report_path: Path | None = None,
    start_urls: list[str] | None = None,
    extra_settings: dict[str, Any] | None = None,
    sources_file: Path | None = None,
    sites_file: Path | None = None,
) -> tuple[list[str], dict[str, str]]:
    """The command line and environment of a crawl subprocess storing into the store `settings` names."""
    env = dict(os.environ)
    env["RISKMINE_VAR_DIR"] = str(Path(settings.var_dir).resolve())
    env["RISKMINE_DB_PATH"] = str(Path(settings.database).resolve())
    env["RISKMINE_STORE"] = str(getattr(settings, "store", "sqlite"))
    if getattr(settings, "redis_url", None):
        env["RISKMINE_REDIS_URL"] = str(settings.redis_url)
    if sources_file is not None:
        env["RISKMINE_CRAWL_SOURCES"] = str(Path(sources_file).resolve())
    if sites_file is not None:
        env["RISKMINE_CRAWL_SITES"] = str(Path(sites_file).resolve())
    cmd = [sys.executable, "-m", "riskmine.crawler.run", source]
    if report_path is not None:
        cmd += ["--report", str(report_path)]
    if start_urls:
        cmd += ["--start-urls", ",".join(start_urls)]
    for key, value in (extra_settings or {}).items():
        cmd += ["--set", f"{key}={json.dumps(value)}"]
    return cmd, env


def crawl(
    source: str,
    settings: Any,
    *,
    start_urls: list[str] | None = None,
    extra_settings: dict[str, Any] | None = None,
    sources_file: Path | None = None,
    sites_file: Path | None = None,
    timeout: float | None = None,
    record: bool = True,
) -> CrawlReport:
    """Crawl one source in a subprocess (`python -m riskmine.crawler.run`), storing into the store
    that `settings` names, and return its report (also recorded in the crawl health file)."""
    started = _now()
    with tempfile.TemporaryDirectory(prefix="riskmine-crawl-") as tmp:
        report_path = Path(tmp) / "report.json"
        cmd, env = crawl_command(
            source,
            settings,
            report_path=report_path,
            start_urls=start_urls,
            extra_settings=extra_settings,
            sources_file=sources_file,
            sites_file=sites_file,
        )
        try:
            proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            report = CrawlReport(
                source,
                started,
                _now(),
                returncode=-1,
                error=f"crawl timed out after {timeout} s",
                failure="crawl_timeout",
            )
        else:
            if report_path.exists():
                report = CrawlReport(**json.loads(report_path.read_text(encoding="utf-8")))
                report.returncode = proc.returncode
            else:
                tail = (proc.stderr or proc.stdout or "").strip().splitlines()[-5:]
                report = CrawlReport(
                    source, started, _now(), returncode=proc.returncode, error=" | ".join(tail) or "crawl failed"
                )
    if record:
        health.record_run(settings, report)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m riskmine.crawler.run", description="Crawl one source.")
    parser.add_argument("source")
    parser.add_argument("--report", type=Path, help="write the crawl report (JSON) here")
    parser.add_argument("--start-urls", default=None, help="comma-separated URLs replacing the source's")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="Scrapy setting (JSON value)")
    args = parser.parse_args(argv)
    overrides: dict[str, Any] = {}
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep or not key:
            parser.error(f"--set {item!r}: use KEY=VALUE")
        overrides[key.strip()] = _value(value)
    urls = [u for u in args.start_urls.split(",") if u] if args.start_urls else None
    try:
        report = run_in_process(args.source, start_urls=urls, overrides=overrides)
    except (ValueError, OSError) as exc:
        report = CrawlReport(args.source, _now(), _now(), returncode=2, error=str(exc))
    text = json.dumps(asdict(report), ensure_ascii=False, indent=2)
    if args.report:
        args.report.write_text(text, encoding="utf-8")
    else:
        print(text)
    return 0 if report.error is None else 2


if __name__ == "__main__":
    sys.exit(main())
