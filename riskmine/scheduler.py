"""The scheduled jobs: which there are, when each runs, and one run at a time across processes.

Jobs (labels in riskmine.schema.labels.JOB_LABELS):

* ``crawl`` every RISKMINE_SCHEDULER_CRAWL_MINUTES: the crawl sources whose interval has passed; a crawl that
  stored documents is followed by the pipeline over them (and the candidate refresh they touch);
* ``refresh`` every RISKMINE_SCHEDULER_REFRESH_MINUTES: documents still unprocessed, then every candidate
  (statistics and tiers move with the clock);
* ``monthly_draft`` daily at RISKMINE_SCHEDULER_REPORT_HOUR (China time): on the monthly report's due day (the
  25th, moved to the next working day when the 25th is not one: riskmine.reports.periods) and, if missed, on the
  days after it in the month, the editable draft and XLSX of each form for each organisation
  (RISKMINE_SCHEDULER_REPORT_ORGS, default the provinces of the organisation tree), unless already drafted;
* ``alerts`` every RISKMINE_ALERT_POLL_SECONDS: one pass of the alert sender (riskmine.review.alert_delivery);
* ``digest`` daily at RISKMINE_ALERT_DIGEST_HOUR (China time): the daily digests, then what is due to send.

The project keeps records (audit log, documents) for years, so there is no retention job.

APScheduler fires the jobs on their triggers; every trigger is on a fixed grid (intervals counted from a fixed
start), so every scheduler process fires a job at the same instants, and :class:`JobRunner` lets one of them run
it: the job state (riskmine.store.jobs) gives the run to the first claim while the job is due and nobody holds
its lease, then records the outcome (ok, or failed with a Chinese message) and the next run. A failing job never
stops the others. Tests call :meth:`JobRunner.run` and :meth:`JobRunner.run_due` with a given ``now``.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from riskmine.pipeline import Pipeline
from riskmine.reports.periods import ReportPeriod, due_date, monthly_period
from riskmine.schema.errors import RiskmineError
from riskmine.schema.labels import JOB_LABELS, JOB_OUTCOME_LABELS
from riskmine.settings import Settings
from riskmine.store.base import Store
from riskmine.store.jobs import FAILED, OK, JobState, open_job_state
from riskmine.submission import SerialProcessor

if TYPE_CHECKING:
    from apscheduler.schedulers.base import BaseScheduler

log = logging.getLogger("riskmine.scheduler")

CHINA_TZ = timezone(timedelta(hours=8), "CST")
# Interval triggers count from here, so that every process fires them at the same instants.
GRID_START = datetime(2000, 1, 3, tzinfo=CHINA_TZ)
MONTHLY_FORMS = ("general", "ecommerce")


class JobFailed(RiskmineError):
    """A job that did its part but failed (the message, in Chinese, is what the job table shows)."""

    code = "job_failed"
    status = 500


# --- when ---------------------------------------------------------------------------------------------


def every(minutes: float) -> IntervalTrigger:
    return IntervalTrigger(seconds=max(1, round(minutes * 60)), start_date=GRID_START, timezone=CHINA_TZ)


def daily(hour: int, minute: int = 0) -> CronTrigger:
    return CronTrigger(hour=hour, minute=minute, timezone=CHINA_TZ)


def next_fire(trigger: BaseTrigger, now: datetime) -> datetime:
    """The trigger's first instant after ``now``."""
    moment = trigger.get_next_fire_time(None, now + timedelta(seconds=1))
    assert moment is not None  # the triggers here never end
    return moment.astimezone(UTC)


def monthly_draft_due(day: date) -> ReportPeriod | None:
    """The period whose monthly draft is due by ``day`` (a China date): from the due day (the 25th, or the next
    working day when the 25th is a rest day) to the month's end; None before it."""
    if day < due_date(day.year, day.month):
        return None
    return monthly_period(day.year, day.month)


# --- the jobs -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Job:
    name: str
    trigger: BaseTrigger
    run: Callable[[Settings, datetime], str]  # returns what it did (a short line); raises on failure

    @property
    def label(self) -> str:
        return JOB_LABELS.get(self.name, self.name)


class LazyProcessor(SerialProcessor):
    """The configured pipeline in this process, built when there is something to process (a refresh alone
    needs no models)."""

    def __init__(self, settings: Settings, store: Store) -> None:
        self.settings, self.store = settings, store
        self._pipeline: Pipeline | None = None

    @property
    def pipeline(self) -> Pipeline:
        if self._pipeline is None:
            self._pipeline = Pipeline.from_settings(self.settings, self.store)
        return self._pipeline

    @pipeline.setter
    def pipeline(self, value: Pipeline) -> None:
        self._pipeline = value


def _open_store(settings: Settings) -> Store:
    from riskmine.store.factory import open_store

    settings.var_dir.mkdir(parents=True, exist_ok=True)
    return open_store(settings)


def process_pending(settings: Settings, now: datetime) -> str:
    """Process the stored documents not yet processed, then refresh the candidates (all of them when none were)."""
    from riskmine.review.alerts import refresh_hook
    from riskmine.submission import Submission

    store = _open_store(settings)
    try:
        submission = Submission(
            store,
            LazyProcessor(settings, store),
            batch_size=settings.batch_size,
            settings=settings,
            after_refresh=refresh_hook(settings),
        )
        outcome = submission.process(None, now=now)
    finally:
        store.close()
    return f"processed {outcome.processed} documents, {outcome.candidates} candidates"


def crawl_due(settings: Settings, now: datetime) -> str:
    """Crawl every source that is due; when any stored documents, process them."""
    from importlib.util import find_spec

    if find_spec("scrapy") is None:
        raise JobFailed("未安装抓取组件（pip install 'riskmine[crawl]'）")
    from riskmine.crawler.cli import due_sources
    from riskmine.crawler.run import crawl

    names = due_sources(settings, now=now)
    done: list[str] = []
    failed: list[str] = []
    new = 0
    for name in names:
        report = crawl(name, settings)
        new += report.new_items
        if report.ok:
            done.append(f"{name} +{report.new_items}")
        else:
            reason = getattr(report, "failure_label", None) or report.error or report.finish_reason or "?"
            failed.append(f"{name}（{reason}）")
    summary = f"crawled {len(names)} sources: " + (", ".join(done) or "-")
    if new:
        summary += "; " + process_pending(settings, now)
    if failed:
        raise JobFailed("抓取失败：" + "、".join(failed) + f"；{summary}")
    return summary if names else "no source due"


def report_organisations(settings: Settings, store: Store) -> list[str]:
    """The organisations drafted monthly: those configured, else the provinces (roots) of the organisation tree."""
    from riskmine.review.orgs import list_orgs
    from riskmine.review.repository import open_review_repository

    configured = [o.strip() for o in settings.scheduler_report_orgs.split(",") if o.strip()]
    if configured:
        return configured
    return [o.name for o in list_orgs(open_review_repository(settings)) if o.parent is None]


def monthly_draft_path(var_dir: Path, period: str, form: str, organisation: str, fmt: str) -> Path:
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in organisation)[:60] or "org"
    return Path(var_dir) / "reports" / "monthly" / f"{period}-{form}-{safe}.{fmt}"


def draft_monthly(settings: Settings, now: datetime) -> str:
    """On or after the due day of the month, draft each organisation's forms not drafted yet."""
    from riskmine.reports.monthly import build_monthly_draft
    from riskmine.reports.monthly_render import RENDERERS
    from riskmine.reports.names import check_organisation
    from riskmine.reports.scope import report_scope
    from riskmine.review.orgs import known_organisations, subtree
    from riskmine.review.repository import open_review_repository

    day = now.astimezone(CHINA_TZ).date()
    period = monthly_draft_due(day)
    if period is None:
        return f"not due: the {day:%Y-%m} drafts are due on {due_date(day.year, day.month).isoformat()}"
    made: list[str] = []
    store = _open_store(settings)
    try:
        orgs = report_organisations(settings, store)
        if not orgs:
            raise JobFailed("没有可起草月报的单位：请在组织树中添加省级单位，或设置 RISKMINE_SCHEDULER_REPORT_ORGS")
        db = open_review_repository(settings)
        for org in orgs:
            check_organisation(org, known_organisations(db, store))
            scope = report_scope(org, include_unassigned=True, resolver=lambda name: subtree(db, name))
            for form in MONTHLY_FORMS:
                target = monthly_draft_path(settings.var_dir, period.label, form, org, "json")
                if target.exists():
                    continue
                draft = build_monthly_draft(store, period, form, org, scope, filled_at=day)
                target.parent.mkdir(parents=True, exist_ok=True)
                xlsx = monthly_draft_path(settings.var_dir, period.label, form, org, "xlsx")
                xlsx.write_bytes(RENDERERS["xlsx"][0](draft))
                target.write_text(draft.model_dump_json(indent=2), encoding="utf-8")  # last: marks it drafted
                made.append(target.stem)
    finally:
        store.close()
    return f"drafted {len(made)} forms for {period.label}" + (f": {', '.join(made)}" if made else "")


def send_alerts(settings: Settings, now: datetime) -> str:
    from riskmine.review.alert_delivery import open_context, run_once

    store = _open_store(settings)
    try:
        report = run_once(open_context(settings, store), now=now)
    finally:
        store.close()
    return f"{report.events} events, {report.deliveries} deliveries, {report.sent} sent"


def send_digest(settings: Settings, now: datetime) -> str:
    from riskmine.review.alert_delivery import deliver_due, open_context, send_digests

    store = _open_store(settings)
    try:
        ctx = open_context(settings, store)
        made = send_digests(ctx, now)
        sent = deliver_due(ctx, now)
    finally:
        store.close()
    return f"{made} digests, {sent} sent"


def default_jobs(settings: Settings) -> list[Job]:
    """The jobs and their schedules from the settings."""
    return [
        Job("crawl", every(settings.scheduler_crawl_minutes), crawl_due),
        Job("refresh", every(settings.scheduler_refresh_minutes), process_pending),
        Job("monthly_draft", daily(settings.scheduler_report_hour), draft_monthly),
        Job("alerts", every(settings.alert_poll_seconds / 60), send_alerts),
        Job("digest", daily(settings.alert_digest_hour, 5), send_digest),
    ]


# --- running them once --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunResult:
    job: str
    outcome: str  # ok | failed
    message: str


def _failure_message(job: Job, exc: BaseException) -> str:
    if isinstance(exc, JobFailed):
        return f"{job.label}失败：{exc}"
    return f"{job.label}失败：{type(exc).__name__}: {exc}"


class JobRunner:
    """Runs the jobs when due, one run at a time across every process sharing the job state."""

    def __init__(
        self,
        settings: Settings,
        jobs: Sequence[Job] | None = None,
        *,
        state: JobState | None = None,
        owner: str | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.settings = settings
        self.jobs = {j.name: j for j in (jobs if jobs is not None else default_jobs(settings))}
        self.state = state or open_job_state(settings)
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.clock = clock or (lambda: datetime.now(UTC))
        self.lease = timedelta(minutes=settings.scheduler_lease_minutes)

    def register(self, now: datetime | None = None) -> None:
        """Give each job never seen its first run (the next instant of its trigger), so status shows it."""
        when = now or self.clock()
        for job in self.jobs.values():
            self.state.schedule(job.name, next_fire(job.trigger, when))

    def run(self, name: str, now: datetime | None = None, *, force: bool = False) -> RunResult | None:
        """Run the job if it is due at ``now`` and nobody runs it (``force``: even before its next run);
        None when another run has it or it is not due."""
        job = self.jobs[name]
        when = now or self.clock()
        if not self.state.claim(name, self.owner, when, when + self.lease, force=force):
            return None
        try:
            message, outcome = job.run(self.settings, when), OK
        except JobFailed as exc:
            log.warning("scheduler: job %s failed: %s", name, exc)
            message, outcome = _failure_message(job, exc), FAILED
        except Exception as exc:
            log.exception("scheduler: job %s failed", name)
            message, outcome = _failure_message(job, exc), FAILED
        finished = self.clock() if now is None else when  # a given "now" is the whole run's time (tests)
        self.state.finish(name, self.owner, finished, outcome, message[:2000], next_fire(job.trigger, finished))
        return RunResult(name, outcome, message)

    def run_due(self, now: datetime | None = None) -> list[RunResult]:
        """Run every job that is due, in order; each failure is recorded and the next job still runs."""
        results = []
        for name in self.jobs:
            result = self.run(name, now)
            if result is not None:
                results.append(result)
        return results


def build_scheduler(runner: JobRunner, *, blocking: bool) -> BaseScheduler:
    """An APScheduler firing each job on its trigger (plus one catch-up pass at start for the jobs due)."""
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.schedulers.blocking import BlockingScheduler

    scheduler: BaseScheduler = (BlockingScheduler if blocking else BackgroundScheduler)(timezone=CHINA_TZ)
    defaults: dict[str, Any] = {"coalesce": True, "max_instances": 1, "misfire_grace_time": None}
    for job in runner.jobs.values():
        scheduler.add_job(runner.run, job.trigger, args=[job.name], id=job.name, name=job.label, **defaults)
    scheduler.add_job(runner.run_due, id="catch-up", next_run_time=datetime.now(CHINA_TZ), **defaults)
    runner.register()
    return scheduler


def start_background(settings: Settings) -> BaseScheduler:
    """Start the jobs in background threads of this process (``riskmine serve`` with RISKMINE_SCHEDULER)."""
    scheduler = build_scheduler(JobRunner(settings), blocking=False)
    scheduler.start()
    return scheduler


# --- what status shows --------------------------------------------------------------------------------


def job_rows(
    settings: Settings, now: datetime | None = None, jobs: Sequence[Job] | None = None
) -> list[dict[str, Any]]:
    """Each job (configured ones first) with its last run, outcome and next run, times in China time."""
    when = now or datetime.now(UTC)
    records = {r.name: r for r in open_job_state(settings).jobs()}
    names = [j.name for j in (jobs if jobs is not None else default_jobs(settings))]
    names += [n for n in records if n not in names]

    def china(moment: datetime | None) -> str:
        return moment.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M") if moment else ""

    rows = []
    for name in names:
        rec = records.get(name)
        if rec is None:
            outcome = "never"
        elif rec.running(when):
            outcome = "running"
        else:
            outcome = rec.last_outcome or "never"
        rows.append(
            {
                "name": name,
                "label": JOB_LABELS.get(name, name),
                "last_started": china(rec.last_started if rec else None),
                "last_finished": china(rec.last_finished if rec else None),
                "outcome": outcome,
                "outcome_label": JOB_OUTCOME_LABELS.get(outcome, outcome),
                "message": (rec.last_message if rec else None) or "",
                "next_run": china(rec.next_run if rec else None),
            }
        )
    return rows


def run_forever(settings: Settings) -> None:
    """`riskmine scheduler`: fire the jobs until interrupted."""
    build_scheduler(JobRunner(settings), blocking=True).start()  # blocks
