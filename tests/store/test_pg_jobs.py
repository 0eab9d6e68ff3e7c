"""The scheduler's job state in PostgreSQL (riskmine.store.pg_jobs), against a real server started for the session
(tests/pg_server.py): RISKMINE_DATABASE_URL chooses it, it keeps what the SQLite file keeps, and claims racing on
separate connections (threads, or scheduler processes) take each due job once."""

from __future__ import annotations

import multiprocessing
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from riskmine.scheduler import Job, JobRunner, every
from riskmine.settings import Settings
from riskmine.store.jobs import open_job_state

pytestmark = pytest.mark.integration
pytest.importorskip("psycopg", reason="the PostgreSQL driver is not installed: pip install -e '.[pg]'")

from riskmine.store.pg_jobs import PgJobState  # noqa: E402

NOW = datetime(2026, 4, 27, 1, 0, tzinfo=UTC)


def _touch(settings: Settings, now: datetime) -> str:
    (settings.var_dir / f"ran-{uuid.uuid4().hex}").touch()
    time.sleep(0.3)  # the other contender tries while this run holds the lease
    return "ran"


@pytest.fixture
def settings(postgres_url: str, tmp_path: Path) -> Settings:
    (tmp_path / "var").mkdir()
    return Settings(var_dir=tmp_path / "var", database_url=postgres_url)


def test_the_database_url_setting_chooses_postgresql_and_it_keeps_the_jobs(settings: Settings) -> None:
    state = open_job_state(settings)
    assert isinstance(state, PgJobState)
    assert not (settings.var_dir / "scheduler").exists()
    state.schedule("refresh", NOW)
    state.schedule("refresh", NOW + timedelta(hours=1))  # a second start keeps the first next run
    state.schedule("alerts", NOW)
    lease = NOW + timedelta(minutes=5)
    assert state.claim("refresh", "a", NOW, lease) is True
    assert state.claim("refresh", "b", NOW, lease) is False  # held
    assert state.claim("refresh", "b", NOW, lease, force=True) is False  # forced, but the lease holds
    state.finish("refresh", "a", NOW, "ok", "完成", NOW + timedelta(minutes=10))
    again = PgJobState(str(settings.database_url))
    record = again.get("refresh")
    assert record is not None
    assert (record.owner, record.lease_until, record.last_started, record.last_outcome, record.last_message) == (
        None,
        None,
        NOW,
        "ok",
        "完成",
    )
    assert record.next_run == NOW + timedelta(minutes=10)
    assert [r.name for r in again.jobs()] == ["alerts", "refresh"]
    assert again.claim("refresh", "b", NOW + timedelta(minutes=1), lease) is False  # not due yet
    assert again.claim("refresh", "b", NOW + timedelta(minutes=10), lease + timedelta(minutes=10)) is True


def _contend_in_process(var_dir: str, url: str, start_at: float) -> None:
    settings = Settings(var_dir=Path(var_dir), database_url=url)
    runner = JobRunner(settings, [Job("refresh", every(60), _touch)])
    time.sleep(max(0.0, start_at - time.time()))
    runner.run("refresh", NOW)


def test_a_job_runs_once_when_two_scheduler_processes_race_for_it(settings: Settings) -> None:
    open_job_state(settings)  # the tables exist before the processes race
    ctx = multiprocessing.get_context("spawn")
    start_at = time.time() + 5.0
    args = (str(settings.var_dir), str(settings.database_url), start_at)
    procs = [ctx.Process(target=_contend_in_process, args=args) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    assert len(list(settings.var_dir.glob("ran-*"))) == 1


def test_claims_racing_on_separate_connections_take_each_job_once(settings: Settings) -> None:
    url = str(settings.database_url)
    names = [f"job-{n:02}" for n in range(30)]
    states = [PgJobState(url) for _ in range(6)]
    start = threading.Barrier(len(states))
    won: list[str] = []
    lock = threading.Lock()

    def contend(state: PgJobState, owner: str) -> None:
        start.wait()
        for name in names:
            if state.claim(name, owner, NOW, NOW + timedelta(minutes=5)):
                with lock:
                    won.append(name)

    threads = [threading.Thread(target=contend, args=(s, f"runner-{i}")) for i, s in enumerate(states)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(won) == names
