"""Saved filters and report drafts in an embedded SQLite file (``<var_dir>/workspace.sqlite3``).

Each call opens its own short-lived connection (safe across threads and processes); the queries are shared with the
PostgreSQL backend (:mod:`riskmine.review.sql_workspace`).
"""

from __future__ import annotations

import sqlite3
from contextlib import AbstractContextManager
from pathlib import Path

from riskmine.review.sql_workspace import SQLWorkspace, schema
from riskmine.store.local import SQLiteFile, script

# Append only: each entry upgrades the file by one schema version.
MIGRATIONS = [script(schema(collate=""))]


class SQLiteWorkspace(SQLWorkspace):
    """The workspace tables in one SQLite file (implements :class:`~riskmine.review.workspace.WorkspaceRepository`)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.file = SQLiteFile(self.path, MIGRATIONS)

    def _connect(self) -> AbstractContextManager[sqlite3.Connection]:
        return self.file.connect()
