"""The scheduler's job state in a shared PostgreSQL database (``RISKMINE_DATABASE_URL``), for schedulers on
several machines.

The same table and queries as the SQLite file (:class:`~riskmine.store.jobs.SQLJobState`). A claim takes a
transaction-scoped advisory lock on the job's name first (a row lock cannot hold a job not yet recorded), so of
several schedulers racing for a due run exactly one takes it; the others then see its lease.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

from riskmine.store.jobs import SQLJobState, schema
from riskmine.store.postgres import PostgresDatabase, QmarkConnection, advisory_key

# Append only: each entry upgrades the component by one schema version.
MIGRATIONS = [schema(collate=' COLLATE "C"')]


class PgJobState(SQLJobState):
    """The job state in PostgreSQL (implements :class:`~riskmine.store.jobs.JobState`)."""

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.db = PostgresDatabase(url, "jobs", MIGRATIONS, pool_size=pool_size)

    def _connect(self) -> AbstractContextManager[QmarkConnection]:
        return self.db.connect()

    def _lock(self, db: Any, name: str) -> None:
        db.execute("SELECT pg_advisory_xact_lock(?)", (advisory_key("scheduler-job:" + name),))
