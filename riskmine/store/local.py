"""Local state in SQLite files, one way: the same connection settings, and versioned migrations applied on open.

Review records, users and API keys, station batches and the crawler's fetched URLs each keep a small SQLite
file under the var dir. :class:`SQLiteFile` opens them all alike: a busy timeout, foreign keys on, rows by
column name, a transaction per ``with file.connect() as db:`` block (committed at its end, rolled back on an
error). Their schemas are append-only migration lists, applied by the store's :func:`~riskmine.store.sqlite.migrate`
(a ``schema_version`` table records how far a file is); the first migration of each creates its tables with
``IF NOT EXISTS``, so files made before migrations existed are adopted as they are.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from riskmine.store.sqlite import Migration, migrate


def script(sql: str) -> Migration:
    """A migration that runs an SQL script statement by statement, inside the migration's transaction
    (``executescript`` would commit it halfway)."""
    statements: list[str] = []
    pending = ""
    for line in sql.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            statements.append(pending.strip())
            pending = ""
    if pending.strip():
        raise ValueError(f"incomplete SQL statement at the end of a migration script: {pending.strip()[:80]!r}")

    def run(conn: sqlite3.Connection) -> None:
        for statement in statements:
            conn.execute(statement)

    return run


class SQLiteFile:
    """One SQLite file of local state, migrated to its latest schema when opened."""

    def __init__(self, path: Path, migrations: Sequence[Migration], *, timeout: float = 10.0) -> None:
        self.path = Path(path)
        self.timeout = timeout
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = self.open()
        try:
            conn.isolation_level = None  # migrate() runs its own transaction
            self.version = migrate(conn, migrations)
        finally:
            conn.close()

    def open(self) -> sqlite3.Connection:
        """A connection with the file's settings; the caller commits and closes it (a process writing row by row
        keeps one open)."""
        conn = sqlite3.connect(str(self.path), timeout=self.timeout)
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
        conn.execute("PRAGMA foreign_keys = ON")
        return conn

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        """A connection in a transaction: committed when the block ends, rolled back on an error."""
        conn = self.open()
        try:
            with conn:
                yield conn
        finally:
            conn.close()
