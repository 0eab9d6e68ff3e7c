"""The scheduler's job state: one row a job with its lease, its last run and its next run.

A run is taken with :meth:`JobState.claim`, which succeeds for one caller only: the job must be due (its next run
has come) and nobody may hold its lease. Several scheduler processes share the state, so each scheduled run
happens once; a process that dies while running lets its lease lapse, and the next due run takes over.
:class:`SQLiteJobState` keeps the rows in <var_dir>/scheduler/jobs.sqlite3;
:class:`~riskmine.store.pg_jobs.PgJobState` keeps them in the shared PostgreSQL database (``RISKMINE_DATABASE_URL``)
for schedulers on several machines. Times are aware datetimes, stored as ISO text in UTC.
"""

from __future__ import annotations

import sqlite3
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from riskmine.store.local import SQLiteFile, script

OK = "ok"
FAILED = "failed"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    name TEXT{C} PRIMARY KEY,
    next_run TEXT,
    owner TEXT,
    lease_until TEXT,
    last_started TEXT,
    last_finished TEXT,
    last_outcome TEXT,
    last_message TEXT
);
"""


def schema(*, collate: str) -> str:
    """The table, for SQLite (``collate`` "") or PostgreSQL (``' COLLATE "C"'``: names sort by code point)."""
    return _SCHEMA.format(C=collate)


# Append only: each entry upgrades the file by one schema version.
MIGRATIONS = [script(schema(collate=""))]


@dataclass(frozen=True)
class JobRecord:
    """One job's state: ``owner`` and ``lease_until`` are set while a run holds it."""

    name: str
    next_run: datetime | None = None
    owner: str | None = None
    lease_until: datetime | None = None
    last_started: datetime | None = None
    last_finished: datetime | None = None
    last_outcome: str | None = None  # ok | failed
    last_message: str | None = None

    def running(self, now: datetime) -> bool:
        return self.lease_until is not None and self.lease_until > now


class JobState(Protocol):
    """Where the scheduler keeps its jobs' leases and runs (shared by every scheduler process)."""

    def schedule(self, name: str, next_run: datetime) -> None:
        """Record a job's next run unless it has one already (a scheduler starting)."""
        ...

    def claim(self, name: str, owner: str, now: datetime, lease_until: datetime, *, force: bool = False) -> bool:
        """Take the job's run at ``now``: True for one caller only, when the job is due (or ``force``) and free."""
        ...

    def finish(
        self, name: str, owner: str, finished: datetime, outcome: str, message: str | None, next_run: datetime
    ) -> None:
        """Record the end of ``owner``'s run and the job's next run, and free its lease."""
        ...

    def get(self, name: str) -> JobRecord | None: ...

    def jobs(self) -> list[JobRecord]:
        """Every job, by name."""
        ...


def _text(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat()


def _time(text: str | None) -> datetime | None:
    if not text:
        return None
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _record(row: Any) -> JobRecord:
    return JobRecord(
        name=row["name"],
        next_run=_time(row["next_run"]),
        owner=row["owner"],
        lease_until=_time(row["lease_until"]),
        last_started=_time(row["last_started"]),
        last_finished=_time(row["last_finished"]),
        last_outcome=row["last_outcome"],
        last_message=row["last_message"],
    )


def may_claim(record: JobRecord | None, now: datetime, *, force: bool = False) -> bool:
    """Whether a run may start at ``now``: nobody holds the lease, and the job is due (or forced)."""
    if record is None:
        return True
    if record.running(now):
        return False
    return force or record.next_run is None or record.next_run <= now


class SQLJobState:
    """The job state in SQL that SQLite and PostgreSQL both run (a backend subclasses it; implements
    :class:`JobState`). A backend supplies a connection in a transaction per call (``?`` placeholders, rows read by
    column name) and how a claim keeps every other claimer of the job waiting while it decides."""

    def _connect(self) -> AbstractContextManager[Any]:
        """A connection in a transaction: committed when the block ends, rolled back on an error."""
        raise NotImplementedError

    def _lock(self, db: Any, name: str) -> None:
        """Hold the job against every other claim until the transaction ends."""
        raise NotImplementedError

    def _row(self, db: Any, name: str) -> JobRecord | None:
        row = db.execute("SELECT * FROM jobs WHERE name = ?", (name,)).fetchone()
        return None if row is None else _record(row)

    def schedule(self, name: str, next_run: datetime) -> None:
        with self._connect() as db:
            db.execute(
                "INSERT INTO jobs (name, next_run) VALUES (?, ?) "
                "ON CONFLICT (name) DO UPDATE SET next_run = COALESCE(jobs.next_run, excluded.next_run)",
                (name, _text(next_run)),
            )

    def claim(self, name: str, owner: str, now: datetime, lease_until: datetime, *, force: bool = False) -> bool:
        with self._connect() as db:
            self._lock(db, name)
            if not may_claim(self._row(db, name), now, force=force):
                return False
            db.execute(
                "INSERT INTO jobs (name, owner, lease_until, last_started) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, lease_until = excluded.lease_until, "
                "last_started = excluded.last_started",
                (name, owner, _text(lease_until), _text(now)),
            )
            return True

    def finish(
        self, name: str, owner: str, finished: datetime, outcome: str, message: str | None, next_run: datetime
    ) -> None:
        with self._connect() as db:
            db.execute(
                "UPDATE jobs SET owner = NULL, lease_until = NULL, last_finished = ?, last_outcome = ?, "
                "last_message = ?, next_run = ? WHERE name = ? AND owner = ?",
                (_text(finished), outcome, message, _text(next_run), name, owner),
            )

    def get(self, name: str) -> JobRecord | None:
        with self._connect() as db:
            return self._row(db, name)

    def jobs(self) -> list[JobRecord]:
        with self._connect() as db:
            return [_record(r) for r in db.execute("SELECT * FROM jobs ORDER BY name").fetchall()]


class SQLiteJobState(SQLJobState):
    """The job state in a SQLite file; a claim decides under the file's write lock (``BEGIN IMMEDIATE``)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.file = SQLiteFile(self.path, MIGRATIONS, timeout=30.0)

    def _connect(self) -> AbstractContextManager[sqlite3.Connection]:
        return self.file.connect()

    def _lock(self, db: Any, name: str) -> None:
        db.execute("BEGIN IMMEDIATE")  # the whole file: one claim decides at a time


def job_state_path(var_dir: Path) -> Path:
    return Path(var_dir) / "scheduler" / "jobs.sqlite3"


def open_job_state(settings: Any) -> JobState:
    """The job state the settings name: PostgreSQL when RISKMINE_DATABASE_URL is set, else a SQLite file under the
    var dir."""
    if getattr(settings, "database_url", None):
        from riskmine.store.pg_jobs import PgJobState

        return PgJobState(settings.database_url, pool_size=settings.database_pool_size)
    return SQLiteJobState(job_state_path(settings.var_dir))
