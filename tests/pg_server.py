"""A throwaway PostgreSQL server for the tests: ``initdb`` into a temporary folder, ``pg_ctl start`` on 127.0.0.1
on a free port (its unix socket in that folder too), a fresh database per test, stopped and removed at the end.

The server binaries come from Debian's ``postgresql`` package (``/usr/lib/postgresql/<version>/bin``) or PATH;
without them the tests that need the server skip, saying how to get them. ``initdb`` refuses to run as root, so
as root the server runs as the ``postgres`` user (which the package creates) in a folder that user owns.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

SUPERUSER = "riskmine"
INSTALL = "apt-get install -y postgresql"


def server_bin_dir() -> Path | None:
    """Where initdb and pg_ctl are: PATH, else the newest /usr/lib/postgresql/<version>/bin."""
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(found).parent
    found_versions = (p for p in Path("/usr/lib/postgresql").glob("*/bin/pg_ctl") if p.parts[-3].isdigit())
    versions = sorted(found_versions, key=lambda p: int(p.parts[-3]))
    return versions[-1].parent if versions else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class PostgresServer:
    port: int

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def admin(self, statement: str) -> None:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(statement)

    @contextmanager
    def fresh_database(self) -> Iterator[str]:
        """The URL of a new, empty database, dropped afterwards (this process's pool on it closed first)."""
        from riskmine.store.postgres import close_pool

        name = "t_" + uuid.uuid4().hex[:16]
        self.admin(f"CREATE DATABASE {name}")
        url = self.url(name)
        try:
            yield url
        finally:
            close_pool(url)
            self.admin(f"DROP DATABASE {name} WITH (FORCE)")


@contextmanager
def running_postgres() -> Iterator[PostgresServer]:
    """Start a PostgreSQL server for this test session (skip when the binaries or psycopg are missing)."""
    pytest.importorskip("psycopg", reason="the PostgreSQL driver is not installed: pip install -e '.[pg]'")
    bin_dir = server_bin_dir()
    if bin_dir is None:
        pytest.skip(f"the PostgreSQL server (initdb, pg_ctl) is not installed: {INSTALL}")
    owner = None
    if os.geteuid() == 0:  # initdb refuses root: the server runs as the user the package made for it
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip(f"as root, the PostgreSQL server runs as the 'postgres' user, which does not exist: {INSTALL}")
    base = Path(tempfile.mkdtemp(prefix="riskmine-pg-"))
    data, log = base / "data", base / "server.log"
    if owner is not None:
        os.chown(base, owner.pw_uid, owner.pw_gid)
    run_as = {"user": owner.pw_uid, "group": owner.pw_gid, "extra_groups": []} if owner else {}

    def run(*args: str) -> None:
        done = subprocess.run(args, cwd=base, capture_output=True, text=True, check=False, **run_as)  # type: ignore[call-overload]
        if done.returncode != 0:
            server_log = log.read_text(errors="replace")[-4000:] if log.exists() else ""
            raise RuntimeError(f"{' '.join(args[:2])} failed: {done.stdout}{done.stderr}{server_log}")

    port = _free_port()
    options = f"-p {port} -c listen_addresses=127.0.0.1 -k {base} -c fsync=off -c synchronous_commit=off"
    options += " -c full_page_writes=off -c max_connections=200"
    try:
        run(str(bin_dir / "initdb"), "-D", str(data), "-U", SUPERUSER, "-A", "trust", "-E", "UTF8", "--no-locale", "-N")
        run(str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "-t", "60", "start")
        try:
            yield PostgresServer(port)
        finally:
            run(str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop")
    finally:
        shutil.rmtree(base, ignore_errors=True)
