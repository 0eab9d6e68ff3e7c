"""Saved filters and report drafts in a shared PostgreSQL database (``RISKMINE_DATABASE_URL``), for several API nodes.

The same tables and queries as the SQLite file (:mod:`riskmine.review.sql_workspace`); text that is ordered or
compared is ``COLLATE "C"`` (code-point order, as SQLite sorts).
"""

from __future__ import annotations

from contextlib import AbstractContextManager

from riskmine.review.sql_workspace import SQLWorkspace, schema
from riskmine.store.postgres import PostgresDatabase, QmarkConnection

# Append only: each entry upgrades the component by one schema version.
MIGRATIONS = [schema(collate=' COLLATE "C"')]


class PgWorkspace(SQLWorkspace):
    """The workspace tables in PostgreSQL (implements :class:`~riskmine.review.workspace.WorkspaceRepository`)."""

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.db = PostgresDatabase(url, "workspace", MIGRATIONS, pool_size=pool_size)

    def _connect(self) -> AbstractContextManager[QmarkConnection]:
        return self.db.connect()
