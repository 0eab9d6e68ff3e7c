"""The crawl state (detail pages already fetched) in a shared PostgreSQL database (``RISKMINE_DATABASE_URL``), for
crawler processes on several machines (implements :class:`~riskmine.crawler.seen.SeenStore`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from riskmine.crawler.seen import url_key
from riskmine.store.postgres import PostgresDatabase

# Append only: each entry upgrades the component by one schema version.
MIGRATIONS = [
    "CREATE TABLE seen (source TEXT NOT NULL, key TEXT NOT NULL, url TEXT NOT NULL, fetched_at TEXT NOT NULL,"
    " PRIMARY KEY (source, key));"
]


class PgSeenStore:
    """(source, url) pairs already fetched and stored, in PostgreSQL."""

    def __init__(self, url: str, *, pool_size: int = 4) -> None:
        self.db = PostgresDatabase(url, "seen", MIGRATIONS, pool_size=pool_size)

    def has(self, source: str, url: str) -> bool:
        with self.db.connect() as db:
            row = db.execute("SELECT 1 FROM seen WHERE source = %s AND key = %s", (source, url_key(url))).fetchone()
        return row is not None

    def add(self, source: str, url: str) -> None:
        with self.db.connect() as db:
            db.execute(
                "INSERT INTO seen (source, key, url, fetched_at) VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING",
                (source, url_key(url), url, datetime.now(UTC).isoformat()),
            )

    def count(self, source: str | None = None) -> int:
        where, args = ("WHERE source = %s", [source]) if source is not None else ("", [])
        with self.db.connect() as db:
            row: dict[str, Any] | None = db.execute(f"SELECT COUNT(*) AS n FROM seen {where}", args).fetchone()
        return int(row["n"]) if row else 0

    def close(self) -> None:
        return None  # the pool is the process's, shared by every store on this database
