"""Detail pages already fetched, remembered across runs (the :class:`SeenStore` protocol; embedded: a small
SQLite file under var/crawl/; shared: PostgreSQL, :mod:`riskmine.crawler.pg_seen`), and the downloader
middleware that skips them.

A spider marks a request as a detail page with ``meta={"riskmine_detail": True}``; the address is
remembered only after the document it gave is stored (by the item pipeline), so a crawl killed
between fetch and store fetches that page again next time."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from scrapy import Request, Spider
from scrapy.exceptions import IgnoreRequest

from riskmine.store.local import SQLiteFile, script
from riskmine.store.postgres import is_postgres_url

DETAIL = "riskmine_detail"


def url_key(url: str) -> str:
    return hashlib.sha1(url.strip().encode("utf-8")).hexdigest()


# Append only: each entry upgrades the file by one schema version.
MIGRATIONS = [
    script(
        "CREATE TABLE IF NOT EXISTS seen (source TEXT NOT NULL, key TEXT NOT NULL, url TEXT NOT NULL, "
        "fetched_at TEXT NOT NULL, PRIMARY KEY (source, key));"
    )
]


class SeenStore(Protocol):
    """(source, url) pairs already fetched and stored; safe to share between crawler processes."""

    def has(self, source: str, url: str) -> bool: ...

    def add(self, source: str, url: str) -> None:
        """Remember the page (adding it again changes nothing)."""
        ...

    def count(self, source: str | None = None) -> int:
        """How many pages are remembered (of one source, or of all)."""
        ...

    def close(self) -> None: ...


def open_seen_store(location: Path | str) -> SeenStore:
    """The crawl state at ``location``: a SQLite file, or a PostgreSQL URL (the runner points RISKMINE_SEEN_DB at
    RISKMINE_DATABASE_URL when that is set, else at a file under the var dir)."""
    if isinstance(location, str) and is_postgres_url(location):
        from riskmine.crawler.pg_seen import PgSeenStore

        return PgSeenStore(location)
    return SQLiteSeenStore(Path(location))


class SQLiteSeenStore:
    """The crawl state in one SQLite file, one connection held per process (implements :class:`SeenStore`)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = SQLiteFile(self.path, MIGRATIONS, timeout=30.0).open()

    def has(self, source: str, url: str) -> bool:
        row = self._conn.execute("SELECT 1 FROM seen WHERE source = ? AND key = ?", (source, url_key(url))).fetchone()
        return row is not None

    def add(self, source: str, url: str) -> None:
        self._conn.execute(
            "INSERT OR IGNORE INTO seen (source, key, url, fetched_at) VALUES (?, ?, ?, ?)",
            (source, url_key(url), url, datetime.now(UTC).isoformat()),
        )
        self._conn.commit()

    def count(self, source: str | None = None) -> int:
        if source is None:
            return int(self._conn.execute("SELECT COUNT(*) FROM seen").fetchone()[0])
        return int(self._conn.execute("SELECT COUNT(*) FROM seen WHERE source = ?", (source,)).fetchone()[0])

    def close(self) -> None:
        self._conn.close()


class SeenRequestsMiddleware:
    """Drops detail-page requests whose page this source has already fetched and stored."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.store: SeenStore | None = None
        self.stats: Any = None

    @classmethod
    def from_crawler(cls, crawler: Any) -> SeenRequestsMiddleware:
        mw = cls(crawler.settings.get("RISKMINE_SEEN_DB"))
        mw.stats = crawler.stats
        return mw

    def _store(self) -> SeenStore:
        if self.store is None:
            self.store = open_seen_store(self.path)
        return self.store

    def process_request(self, request: Request, spider: Spider) -> None:
        if request.meta.get(DETAIL) and self._store().has(getattr(spider, "source_name", spider.name), request.url):
            self.stats.inc_value("riskmine/seen_skipped")
            raise IgnoreRequest(f"already fetched: {request.url}")
        return None
