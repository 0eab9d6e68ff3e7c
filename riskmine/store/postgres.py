"""Shared state in PostgreSQL, one way: a connection pool per database and versioned migrations applied on open.

When ``RISKMINE_DATABASE_URL`` names a PostgreSQL database (``postgresql://user:password@host:5432/riskmine``),
the review records, users and API keys, station batches and the crawler's fetched URLs live there instead of in
SQLite files under the var dir, so every API node and crawler process sees the same state (docs/postgresql.md).

Each component (``review``, ``users``, ``batches``, ``seen``) has an append-only list of SQL migrations, as the
SQLite files do (:mod:`riskmine.store.local`); :class:`PostgresDatabase` applies the ones a database lacks when it
is opened, in one transaction under a PostgreSQL advisory lock, so two nodes opening at once do not race (the
second waits, then finds the schema current). The ``riskmine_schema`` table records how far each component is.
Connections come from one pool per database URL in each process (psycopg_pool), shared by every repository
opened on it.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from riskmine.schema.errors import RiskmineError

if TYPE_CHECKING:
    import psycopg
    from psycopg_pool import ConnectionPool

# One lock for every component's migrations (an arbitrary, fixed 64-bit key: "riskmine" in ASCII).
MIGRATION_LOCK = 0x7269736B6D696E65
SCHEMES = ("postgresql", "postgres")
INSTALL_HINT = "install the PostgreSQL driver: pip install 'riskmine[pg]' (psycopg and psycopg_pool)"

_pools: dict[tuple[int, str], ConnectionPool[Any]] = {}
_pools_lock = threading.Lock()
_migrated: dict[tuple[int, str, str, int], int] = {}  # schema version of each component this process opened


class DatabaseUnavailable(RiskmineError, RuntimeError):
    """The PostgreSQL database named by RISKMINE_DATABASE_URL cannot be used (driver missing, server down,
    refused login, or a schema newer than this riskmine)."""

    code = "database_unavailable"
    status = 503


def is_postgres_url(url: str) -> bool:
    return urlsplit(url).scheme.lower() in SCHEMES


def redact(url: str) -> str:
    """The URL without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    user = netloc[0].split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc[1]}"))


def _psycopg() -> Any:
    try:
        import psycopg
        import psycopg_pool
    except ImportError:
        raise DatabaseUnavailable(f"RISKMINE_DATABASE_URL names a PostgreSQL database; {INSTALL_HINT}") from None
    return psycopg, psycopg_pool


def advisory_key(text: str) -> int:
    """A signed 64-bit key for pg_advisory_xact_lock derived from ``text`` (stable across processes and nodes)."""
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "big", signed=True)


def migrate(conn: psycopg.Connection[Any], component: str, migrations: Sequence[str]) -> int:
    """Bring ``component``'s tables to the latest of ``migrations`` (SQL scripts, append only: entry ``i`` upgrades
    version ``i`` to ``i + 1``) in one transaction under the migration lock; returns the version reached.

    A database already current runs no DDL (a role without CREATE can open it); one newer than ``migrations``
    (opened by a newer riskmine) is refused rather than used with a schema this code does not know."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        row = conn.execute("SELECT to_regclass('riskmine_schema') IS NOT NULL").fetchone()
        if not (row and row[0]):
            conn.execute("CREATE TABLE riskmine_schema (component TEXT PRIMARY KEY, version INTEGER NOT NULL)")
        row = conn.execute("SELECT version FROM riskmine_schema WHERE component = %s", (component,)).fetchone()
        version = int(row[0]) if row else 0
        if version > len(migrations):
            raise DatabaseUnavailable(
                f"the PostgreSQL schema of {component!r} is at version {version}, newer than this riskmine knows"
                f" ({len(migrations)}); upgrade riskmine on this node"
            )
        for script in migrations[version:]:
            conn.execute(script)  # no parameters: several statements in one call
        if version < len(migrations):
            conn.execute(
                "INSERT INTO riskmine_schema (component, version) VALUES (%s, %s)"
                " ON CONFLICT (component) DO UPDATE SET version = EXCLUDED.version",
                (component, len(migrations)),
            )
    return max(version, len(migrations))


def _pool(url: str, max_size: int) -> ConnectionPool[Any]:
    """This process's pool for ``url`` (a forked child makes its own)."""
    _, psycopg_pool = _psycopg()
    from psycopg.rows import dict_row

    key = (os.getpid(), url)
    with _pools_lock:
        pool = _pools.get(key)
        if pool is None:
            pool = psycopg_pool.ConnectionPool(
                url,
                min_size=1,
                max_size=max(1, max_size),
                kwargs={"row_factory": dict_row, "connect_timeout": 10},
                check=psycopg_pool.ConnectionPool.check_connection,  # a server restart costs no failed request
                name=f"riskmine-{redact(url)}",
                open=True,
            )
            _pools[key] = pool
    return pool


def close_pool(url: str) -> None:
    """Close this process's pool for ``url`` (the next open makes a new one)."""
    with _pools_lock:
        pool = _pools.pop((os.getpid(), url), None)
    if pool is not None:
        pool.close()


@atexit.register
def close_pools() -> None:
    """Close every pool this process opened."""
    for pid, url in list(_pools):
        if pid == os.getpid():
            close_pool(url)


class PostgresDatabase:
    """One component's tables in a PostgreSQL database, migrated to their latest schema when opened."""

    def __init__(self, url: str, component: str, migrations: Sequence[str], *, pool_size: int = 10) -> None:
        if not is_postgres_url(url):
            raise DatabaseUnavailable(f"{redact(url)!r} is not a PostgreSQL URL (postgresql://user@host:5432/db)")
        psycopg, _ = _psycopg()
        self.url = url
        self.component = component
        # Migrated once per process, database, component and schema length: repositories opened per event (the
        # alert outbox beside the review state) reuse the pool without a new connection and version check.
        key = (os.getpid(), url, component, len(migrations))
        version = _migrated.get(key)
        if version is None:
            try:
                with psycopg.connect(url, connect_timeout=10) as conn:
                    version = migrate(conn, component, migrations)
            except psycopg.OperationalError as exc:
                raise DatabaseUnavailable(
                    f"cannot open the PostgreSQL database {redact(url)} (RISKMINE_DATABASE_URL): {exc}".strip()
                ) from None
            for other in [k for k in _migrated if k[:3] == key[:3]]:  # another schema length: check it again
                del _migrated[other]
            _migrated[key] = version
        self.version = version
        self.pool = _pool(url, pool_size)

    @contextmanager
    def connect(self) -> Iterator[QmarkConnection]:
        """A pooled connection (rows as dicts, ``?`` placeholders) in a transaction: committed when the block ends,
        rolled back on an error."""
        with self.pool.connection() as conn:
            yield QmarkConnection(conn)


class QmarkConnection:
    """A psycopg connection that takes ``?`` placeholders as sqlite3 does, so that one SQL text serves both
    backends (such SQL holds no literal ``?`` or ``%``)."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.raw = conn

    def execute(self, query: str, args: Sequence[Any] = ()) -> psycopg.Cursor[Any]:
        return self.raw.execute(query.replace("?", "%s"), args)
