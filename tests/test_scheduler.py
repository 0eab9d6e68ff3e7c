"""The scheduler (riskmine.scheduler): the working-day rule of the monthly draft, one run at a time across
threads and processes, failures recorded without stopping the other jobs, and `riskmine status` showing the jobs.

Time is given: every run is called with its "now", never by waiting for a schedule."""

from __future__ import annotations

import multiprocessing
import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from riskmine.cli import app
from riskmine.scheduler import (
    CHINA_TZ,
    Job,
    JobFailed,
    JobRunner,
    daily,
    default_jobs,
    draft_monthly,
    every,
    job_rows,
    monthly_draft_due,
    next_fire,
)
from riskmine.settings import Settings, get_settings
from riskmine.store.jobs import open_job_state

NOW = datetime(2026, 4, 27, 1, 0, tzinfo=UTC)  # 09:00 China time, Monday 27 April 2026


def _counted(settings: Settings, now: datetime) -> str:
    with (settings.var_dir / "runs.txt").open("a", encoding="utf-8") as fh:
        fh.write(f"{now.isoformat()}\n")
    time.sleep(0.3)  # long enough for the other contenders to try while this run holds the lease
    return "counted"


def _runs(settings: Settings) -> list[str]:
    path = settings.var_dir / "runs.txt"
    return path.read_text(encoding="utf-8").splitlines() if path.exists() else []


def _boom(settings: Settings, now: datetime) -> str:
    raise JobFailed("数据源不可用")


def _crash(settings: Settings, now: datetime) -> str:
    raise RuntimeError("disk full")


# --- the working-day rule -----------------------------------------------------------------------------


def test_monthly_draft_waits_for_the_next_working_day_when_the_25th_is_a_saturday() -> None:
    assert date(2026, 4, 25).weekday() == 5
    assert monthly_draft_due(date(2026, 4, 24)) is None
    assert monthly_draft_due(date(2026, 4, 25)) is None  # Saturday
    assert monthly_draft_due(date(2026, 4, 26)) is None  # Sunday
    period = monthly_draft_due(date(2026, 4, 27))  # Monday: due
    assert period is not None and period.label == "2026-04" and period.due == date(2026, 4, 27)
    assert period.start == date(2026, 3, 25) and period.end == date(2026, 4, 24)
    assert monthly_draft_due(date(2026, 4, 30)) is not None  # a missed due day is caught up in the month


def test_monthly_draft_follows_the_holiday_calendar() -> None:
    # 2026-09-25 is a Friday, but the Mid-autumn Festival holiday: the draft waits until Monday the 28th
    assert date(2026, 9, 25).weekday() == 4
    assert monthly_draft_due(date(2026, 9, 25)) is None
    assert monthly_draft_due(date(2026, 9, 27)) is None
    assert monthly_draft_due(date(2026, 9, 28)) is not None
    # 2025-01-25 is a Saturday and 2025-01-26 a Sunday worked for the Spring Festival (调休上班日): due that Sunday
    assert monthly_draft_due(date(2025, 1, 26)) is not None


def test_the_monthly_draft_job_runs_daily_and_drafts_only_on_the_due_day(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RISKMINE_SCHEDULER_REPORT_ORGS", "四川省")
    from riskmine.review.orgs import ensure_demo_orgs
    from riskmine.review.repository import open_review_repository
    from riskmine.review.roles import SystemActor

    settings = get_settings()
    ensure_demo_orgs(open_review_repository(settings), SystemActor("test"))
    saturday = datetime(2026, 4, 25, 1, 0, tzinfo=UTC)
    assert draft_monthly(settings, saturday).startswith("not due")
    assert "drafted 2 forms for 2026-04" in draft_monthly(settings, NOW)
    folder = settings.var_dir / "reports" / "monthly"
    assert sorted(p.name for p in folder.iterdir()) == [
        "2026-04-ecommerce-四川省.json",
        "2026-04-ecommerce-四川省.xlsx",
        "2026-04-general-四川省.json",
        "2026-04-general-四川省.xlsx",
    ]
    assert draft_monthly(settings, NOW + timedelta(days=1)) == "drafted 0 forms for 2026-04"  # drafted once
    # the job's trigger: every day at the report hour, China time
    trigger = next(j for j in default_jobs(settings) if j.name == "monthly_draft").trigger
    assert next_fire(trigger, NOW) == datetime(2026, 4, 28, 8, tzinfo=CHINA_TZ)


# --- one run at a time --------------------------------------------------------------------------------


def test_a_job_runs_once_when_two_threads_race_for_it() -> None:
    settings = get_settings()
    jobs = [Job("crawl", every(10), _counted)]
    runners = [JobRunner(settings, jobs, owner=f"runner-{i}") for i in range(4)]
    start = threading.Barrier(len(runners))
    results: list[object] = []

    def contend(runner: JobRunner) -> None:
        start.wait()
        results.append(runner.run("crawl", NOW))

    threads = [threading.Thread(target=contend, args=(r,)) for r in runners]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert len(_runs(settings)) == 1
    assert sum(r is not None for r in results) == 1
    record = open_job_state(settings).get("crawl")
    assert record is not None and record.last_outcome == "ok" and record.owner is None
    assert record.next_run == datetime(2026, 4, 27, 1, 10, tzinfo=UTC)  # the 10-minute grid
    # the next slot runs again, once
    assert runners[1].run("crawl", NOW + timedelta(minutes=5)) is None
    assert runners[2].run("crawl", NOW + timedelta(minutes=10)) is not None
    assert len(_runs(settings)) == 2


def _contend_in_process(var_dir: str, start_at: float) -> None:
    settings = Settings(var_dir=Path(var_dir))
    runner = JobRunner(settings, [Job("refresh", every(60), _counted)])
    time.sleep(max(0.0, start_at - time.time()))
    runner.run("refresh", NOW)


def test_a_job_runs_once_when_two_scheduler_processes_race_for_it() -> None:
    settings = get_settings()
    open_job_state(settings)  # the file exists before the processes race
    ctx = multiprocessing.get_context("spawn")
    start_at = time.time() + 3.0
    procs = [ctx.Process(target=_contend_in_process, args=(str(settings.var_dir), start_at)) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    assert len(_runs(settings)) == 1


def test_a_dead_runner_lease_lapses_and_a_later_slot_takes_over() -> None:
    settings = get_settings()
    state = open_job_state(settings)
    lease_until = NOW + timedelta(minutes=settings.scheduler_lease_minutes)
    assert state.claim("crawl", "dead-process", NOW, lease_until)  # claimed, never finished
    runner = JobRunner(settings, [Job("crawl", every(10), _counted)])
    assert runner.run("crawl", NOW + timedelta(minutes=10)) is None  # the lease still holds
    assert runner.run("crawl", lease_until + timedelta(seconds=1)) is not None
    assert len(_runs(settings)) == 1


# --- failures -----------------------------------------------------------------------------------------


def test_a_failing_job_records_its_failure_and_the_next_jobs_still_run() -> None:
    settings = get_settings()
    jobs = [Job("crawl", every(10), _boom), Job("refresh", every(60), _crash), Job("alerts", every(1), _counted)]
    runner = JobRunner(settings, jobs)
    results = {r.job: r for r in runner.run_due(NOW)}
    assert [results[n].outcome for n in ("crawl", "refresh", "alerts")] == ["failed", "failed", "ok"]
    assert results["crawl"].message == "到期抓取失败：数据源不可用"
    assert results["refresh"].message == "候选风险刷新失败：RuntimeError: disk full"
    state = open_job_state(settings)
    crawl = state.get("crawl")
    assert crawl is not None and crawl.last_outcome == "failed" and crawl.last_message == "到期抓取失败：数据源不可用"
    assert crawl.last_started == NOW and crawl.last_finished == NOW
    assert crawl.next_run == NOW + timedelta(minutes=10) and crawl.owner is None
    assert runner.run_due(NOW + timedelta(seconds=30)) == []  # nothing due yet: a failure is not retried at once
    assert [r.job for r in runner.run_due(NOW + timedelta(minutes=1))] == ["alerts"]
    assert len(_runs(settings)) == 2


def test_forced_runs_ignore_the_schedule_but_not_the_lease() -> None:
    settings = get_settings()
    runner = JobRunner(settings, [Job("digest", daily(8, 5), _counted)])
    assert runner.run("digest", NOW) is not None
    assert runner.run("digest", NOW + timedelta(minutes=1)) is None
    assert runner.run("digest", NOW + timedelta(minutes=1), force=True) is not None
    record = open_job_state(settings).get("digest")
    assert record is not None and record.next_run == datetime(2026, 4, 28, 8, 5, tzinfo=CHINA_TZ)


# --- visible --------------------------------------------------------------------------------------------


def test_status_shows_the_jobs_with_last_run_outcome_and_next_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "300")
    settings = get_settings()
    runner = JobRunner(settings, [Job("crawl", every(10), _boom), Job("refresh", every(60), _counted)])
    assert runner.run("crawl", NOW) is not None  # a job never seen is due
    runner.register(NOW)  # a scheduler starting: the others get their first run; crawl keeps its next run
    result = CliRunner().invoke(app, ["status"])
    assert result.exit_code == 0, result.output
    assert "scheduled jobs" in result.output
    lines = {line.split("│")[1].strip(): line for line in result.output.splitlines() if line.count("│") == 6}
    crawl = [c.strip() for c in lines["crawl"].split("│")[1:-1]]
    assert crawl == ["crawl", "2026-04-27 09:00", "failed", "2026-04-27 09:10", "到期抓取失败：数据源不可用"]
    refresh = [c.strip() for c in lines["refresh"].split("│")[1:-1]]
    assert refresh[1:4] == ["never", "never", "2026-04-27 10:00"]
    assert [c.strip() for c in lines["monthly_draft"].split("│")[1:-1]][1:4] == ["never", "never", "-"]

    rows = {r["name"]: r for r in job_rows(settings, NOW)}
    assert rows["crawl"]["label"] == "到期抓取" and rows["crawl"]["outcome_label"] == "失败"
    assert rows["refresh"]["outcome_label"] == "尚未运行"


def test_the_scheduler_command_runs_one_job_now(monkeypatch: pytest.MonkeyPatch) -> None:
    result = CliRunner().invoke(app, ["scheduler", "--run", "nonsense"])
    assert result.exit_code == 2 and "unknown job" in result.output
    result = CliRunner().invoke(app, ["scheduler", "--run", "refresh"])
    assert result.exit_code == 0, result.output
    assert "refresh: ok processed 0 documents" in result.output
    record = open_job_state(get_settings()).get("refresh")
    assert record is not None and record.last_outcome == "ok"


def test_apscheduler_catches_up_on_the_jobs_missed_while_down_and_keeps_their_triggers() -> None:
    from riskmine.scheduler import build_scheduler

    settings = get_settings()
    missed = datetime.now(UTC) - timedelta(hours=3)  # next runs that passed while no scheduler ran
    open_job_state(settings).schedule("refresh", missed)
    open_job_state(settings).schedule("digest", missed)
    jobs = [
        Job("refresh", every(60), _counted),
        Job("digest", daily(8, 5), _counted),
        Job("alerts", every(1), _counted),
    ]
    scheduler = build_scheduler(JobRunner(settings, jobs), blocking=False)
    scheduler.start()
    try:
        deadline = time.monotonic() + 20
        while len(_runs(settings)) < 2 and time.monotonic() < deadline:  # the catch-up pass at start
            time.sleep(0.1)
        triggers = {j.id: type(j.trigger).__name__ for j in scheduler.get_jobs()}
    finally:
        scheduler.shutdown(wait=True)
    assert len(_runs(settings)) == 2  # refresh and digest; alerts, never seen, waits for its first minute
    triggers.pop("catch-up", None)  # the one-off pass at start, gone once it has run
    assert triggers == {"refresh": "IntervalTrigger", "digest": "CronTrigger", "alerts": "IntervalTrigger"}
    alerts = open_job_state(settings).get("alerts")
    assert alerts is not None and alerts.next_run is not None and alerts.last_started is None
