"""Subscriptions, the alert outbox and the delivery log in an embedded SQLite file (``<var_dir>/alerts.sqlite3``).

Each call opens its own short-lived connection (safe across threads and processes). The queries are shared with
the PostgreSQL backend (:mod:`riskmine.review.sql_alert_repository`); a claim is one ``BEGIN IMMEDIATE``
transaction, so two senders never claim the same delivery.
"""

from __future__ import annotations

import sqlite3
from contextlib import AbstractContextManager
from pathlib import Path

from riskmine.review.sql_alert_repository import Connection, SQLAlertRepository, schema
from riskmine.store.local import SQLiteFile, script

# Append only: each entry upgrades the file by one schema version.
MIGRATIONS = [script(schema(collate=""))]


class SQLiteAlertRepository(SQLAlertRepository):
    """The alert tables in one SQLite file (implements :class:`~riskmine.review.alert_repository.AlertRepository`)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.file = SQLiteFile(self.path, MIGRATIONS)

    def _connect(self) -> AbstractContextManager[sqlite3.Connection]:
        return self.file.connect()

    def _begin_claim(self, db: Connection) -> None:
        db.execute("BEGIN IMMEDIATE")  # the whole file: SQLite has no finer write lock
