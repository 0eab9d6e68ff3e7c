"""The review state and the users in embedded SQLite files (``<var_dir>/review.sqlite3``, ``users.sqlite3``).

Each call opens its own short-lived connection (safe across threads and processes). A change and its
audit entry are written in one transaction. Triggers abort any UPDATE or DELETE on the audit table.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from riskmine.review.errors import ReviewConflict, UserExists
from riskmine.review.records import (
    Advisory,
    ApiKey,
    AuditEntry,
    AuditEvent,
    AuditQuery,
    Comment,
    LoginThrottle,
    Objection,
    Org,
    OrgLevel,
    User,
)
from riskmine.review.roles import Role
from riskmine.store.local import SQLiteFile, script

_SCHEMA = """
CREATE TABLE IF NOT EXISTS orgs (
    name TEXT PRIMARY KEY,
    level TEXT NOT NULL,
    parent TEXT REFERENCES orgs(name),
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS orgs_parent ON orgs(parent);
CREATE TABLE IF NOT EXISTS comments (
    id TEXT PRIMARY KEY,
    candidate_id TEXT NOT NULL,
    author TEXT NOT NULL,
    text TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS comments_candidate ON comments(candidate_id, created_at);
CREATE TABLE IF NOT EXISTS objections (
    id TEXT PRIMARY KEY,
    candidate_id TEXT NOT NULL,
    decision_id TEXT NOT NULL,
    objector TEXT NOT NULL,
    objector_kind TEXT NOT NULL,
    text TEXT NOT NULL,
    received_at TEXT NOT NULL,
    deadline TEXT NOT NULL,
    recorded_by TEXT NOT NULL,
    status TEXT NOT NULL,
    answer TEXT,
    answered_by TEXT,
    answered_at TEXT
);
CREATE INDEX IF NOT EXISTS objections_candidate ON objections(candidate_id);
CREATE TABLE IF NOT EXISTS advisories (
    id TEXT PRIMARY KEY,
    candidate_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    status TEXT NOT NULL,
    organisation TEXT,
    drafted_by TEXT NOT NULL,
    drafted_at TEXT NOT NULL,
    approved_by TEXT,
    published_at TEXT
);
CREATE INDEX IF NOT EXISTS advisories_status ON advisories(status, kind, published_at);
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    actor_role TEXT,
    action TEXT NOT NULL,
    target_kind TEXT NOT NULL,
    target_id TEXT,
    before TEXT,
    after TEXT
);
CREATE INDEX IF NOT EXISTS audit_target ON audit(target_kind, target_id);
CREATE INDEX IF NOT EXISTS audit_at ON audit(at);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: records cannot be changed'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: records cannot be deleted'); END;
"""

_USERS_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    id TEXT PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    organisation TEXT,
    disabled INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS api_keys (
    id TEXT PRIMARY KEY,
    key_hash TEXT NOT NULL UNIQUE,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    last_used_at TEXT
);
"""

# Append only: each entry upgrades its file by one schema version.
MIGRATIONS = [
    script(_SCHEMA),
    script("ALTER TABLE objections ADD COLUMN result_received_at TEXT;"),  # when the objector received the result
]
USER_MIGRATIONS = [
    script(_USERS_SCHEMA),
    # bumped on a password change: tokens issued under an older version are refused
    script("ALTER TABLE users ADD COLUMN token_version INTEGER NOT NULL DEFAULT 0;"),
    # failed logins per account and per client (riskmine.review.login_guard), shared by every process
    script(
        "CREATE TABLE IF NOT EXISTS login_throttle (key TEXT PRIMARY KEY, failures INTEGER NOT NULL,"
        " last_failure_at TEXT NOT NULL, locked_until TEXT);"
    ),
]

_OBJECTION_COLUMNS = tuple(Objection.__dataclass_fields__)
_ADVISORY_COLUMNS = tuple(Advisory.__dataclass_fields__)
_AUDIT_COLUMNS = tuple(AuditEntry.__dataclass_fields__)


def _insert(conn: sqlite3.Connection, table: str, row: dict[str, Any]) -> None:
    conn.execute(f"INSERT INTO {table} ({', '.join(row)}) VALUES ({', '.join('?' for _ in row)})", list(row.values()))


def _append(conn: sqlite3.Connection, entry: AuditEntry) -> None:
    _insert(conn, "audit", {c: getattr(entry, c) for c in _AUDIT_COLUMNS})


def _org(row: sqlite3.Row) -> Org:
    return Org(row["name"], OrgLevel(row["level"]), row["parent"], row["created_at"])


def _event(row: sqlite3.Row) -> AuditEvent:
    return AuditEvent(
        seq=row["seq"],
        at=row["at"],
        actor=row["actor"],
        actor_role=row["actor_role"],
        action=row["action"],
        target_kind=row["target_kind"],
        target_id=row["target_id"],
        before=json.loads(row["before"]) if row["before"] else None,
        after=json.loads(row["after"]) if row["after"] else None,
    )


class SQLiteReviewRepository:
    """The review tables in one SQLite file (implements :class:`~riskmine.review.repository.ReviewRepository`)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.var_dir = self.path.parent
        self.file = SQLiteFile(self.path, MIGRATIONS)

    def close(self) -> None:
        return None

    # organisations

    def get_org(self, name: str) -> Org | None:
        with self.file.connect() as c:
            row = c.execute("SELECT * FROM orgs WHERE name = ?", (name,)).fetchone()
        return _org(row) if row else None

    def add_org(self, org: Org, audit: AuditEntry) -> None:
        row = {"name": org.name, "level": org.level.value, "parent": org.parent, "created_at": org.created_at}
        try:
            with self.file.connect() as c:
                _insert(c, "orgs", row)
                _append(c, audit)
        except sqlite3.IntegrityError:
            if self.get_org(org.name) is not None:
                raise ReviewConflict(
                    f"organisation {org.name!r} already exists; names are unique across the tree"
                ) from None
            raise

    def list_orgs(self) -> list[Org]:
        with self.file.connect() as c:
            rows = c.execute("SELECT * FROM orgs ORDER BY name").fetchall()
        return [_org(r) for r in rows]

    def subtree(self, name: str) -> frozenset[str]:
        with self.file.connect() as c:
            rows = c.execute(
                "WITH RECURSIVE sub(name) AS (SELECT name FROM orgs WHERE name = ?"
                " UNION SELECT o.name FROM orgs o JOIN sub ON o.parent = sub.name) SELECT name FROM sub",
                (name,),
            ).fetchall()
        return frozenset(r[0] for r in rows)

    def org_names(self) -> frozenset[str]:
        with self.file.connect() as c:
            return frozenset(r[0] for r in c.execute("SELECT name FROM orgs").fetchall())

    # comments

    def add_comment(self, comment: Comment, audit: AuditEntry) -> None:
        with self.file.connect() as c:
            _insert(c, "comments", comment.public())
            _append(c, audit)

    def comments(self, candidate_id: str) -> list[Comment]:
        with self.file.connect() as c:
            rows = c.execute(
                "SELECT * FROM comments WHERE candidate_id = ? ORDER BY created_at, id", (candidate_id,)
            ).fetchall()
        return [Comment(r["id"], r["candidate_id"], r["author"], r["text"], r["created_at"]) for r in rows]

    # objections

    def add_objection(self, objection: Objection, audit: AuditEntry) -> None:
        with self.file.connect() as c:
            _insert(c, "objections", objection.public())
            _append(c, audit)

    def get_objection(self, objection_id: str) -> Objection | None:
        with self.file.connect() as c:
            row = c.execute("SELECT * FROM objections WHERE id = ?", (objection_id,)).fetchone()
        return Objection(**{k: row[k] for k in _OBJECTION_COLUMNS}) if row else None

    def answer_objection(self, answered: Objection, audit: AuditEntry) -> bool:
        with self.file.connect() as c:
            cur = c.execute(
                "UPDATE objections SET status = ?, answer = ?, answered_by = ?, answered_at = ?"
                " WHERE id = ? AND status = 'open'",
                (answered.status, answered.answer, answered.answered_by, answered.answered_at, answered.id),
            )
            if cur.rowcount != 1:
                return False
            _append(c, audit)
        return True

    def objections(self, *, candidate_id: str | None = None, status: str | None = None) -> list[Objection]:
        where, args = [], []
        if candidate_id is not None:
            where.append("candidate_id = ?")
            args.append(candidate_id)
        if status is not None:
            where.append("status = ?")
            args.append(status)
        clause = (" WHERE " + " AND ".join(where)) if where else ""
        with self.file.connect() as c:
            rows = c.execute("SELECT * FROM objections" + clause + " ORDER BY received_at, id", args).fetchall()
        return [Objection(**{k: r[k] for k in _OBJECTION_COLUMNS}) for r in rows]

    # advisories

    def add_advisory(self, advisory: Advisory, audit: AuditEntry) -> None:
        with self.file.connect() as c:
            _insert(c, "advisories", advisory.public())
            _append(c, audit)

    def get_advisory(self, advisory_id: str) -> Advisory | None:
        with self.file.connect() as c:
            row = c.execute("SELECT * FROM advisories WHERE id = ?", (advisory_id,)).fetchone()
        return Advisory(**{k: row[k] for k in _ADVISORY_COLUMNS}) if row else None

    def publish_advisory(self, published: Advisory, audit: AuditEntry) -> bool:
        with self.file.connect() as c:
            cur = c.execute(
                "UPDATE advisories SET status = ?, approved_by = ?, published_at = ? WHERE id = ? AND status = 'draft'",
                (published.status, published.approved_by, published.published_at, published.id),
            )
            if cur.rowcount != 1:
                return False
            _append(c, audit)
        return True

    def advisories(self, *, status: str, kinds: Sequence[str], limit: int, offset: int) -> tuple[list[Advisory], int]:
        if not kinds:
            return [], 0
        where = f" WHERE status = ? AND kind IN ({', '.join('?' for _ in kinds)})"
        args: list[Any] = [status, *kinds]
        order = "published_at" if status == "published" else "drafted_at"
        with self.file.connect() as c:
            total = int(c.execute("SELECT COUNT(*) FROM advisories" + where, args).fetchone()[0])
            rows = c.execute(
                "SELECT * FROM advisories" + where + f" ORDER BY {order} DESC, id LIMIT ? OFFSET ?",
                [*args, limit, offset],
            ).fetchall()
        return [Advisory(**{k: r[k] for k in _ADVISORY_COLUMNS}) for r in rows], total

    # audit

    def append_audit(self, entry: AuditEntry) -> None:
        with self.file.connect() as c:
            _append(c, entry)

    def audit_events(self, query: AuditQuery, *, limit: int, offset: int) -> tuple[list[AuditEvent], int]:
        where, args = [], []
        for column in ("actor", "action", "target_kind", "target_id"):
            value = getattr(query, column)
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        if query.since is not None:
            where.append("at >= ?")
            args.append(query.since)
        if query.until is not None:
            where.append("at <= ?")
            args.append(query.until)
        clause = (" WHERE " + " AND ".join(where)) if where else ""
        with self.file.connect() as c:
            total = int(c.execute("SELECT COUNT(*) FROM audit" + clause, args).fetchone()[0])
            rows = c.execute(
                "SELECT * FROM audit" + clause + " ORDER BY seq DESC LIMIT ? OFFSET ?", [*args, limit, offset]
            ).fetchall()
        return [_event(r) for r in rows], total


def _user(row: sqlite3.Row, via: str = "password", api_key_id: str | None = None) -> User:
    return User(
        id=row["id"],
        username=row["username"],
        role=Role(row["role"]),
        organisation=row["organisation"],
        via=via,
        api_key_id=api_key_id,
    )


def _api_key(r: sqlite3.Row) -> ApiKey:
    return ApiKey(r["id"], r["user_id"], r["name"], r["created_at"], bool(r["revoked"]), r["last_used_at"])


class SQLiteUserRepository:
    """The users and api_keys tables in one SQLite file (implements
    :class:`~riskmine.review.repository.UserRepository`)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.file = SQLiteFile(self.path, USER_MIGRATIONS)

    def close(self) -> None:
        return None

    def add_user(self, user: User, password_hash: str, created_at: str) -> None:
        try:
            with self.file.connect() as db:
                db.execute(
                    "INSERT INTO users (id, username, password_hash, role, organisation, created_at)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (user.id, user.username, password_hash, user.role.value, user.organisation, created_at),
                )
        except sqlite3.IntegrityError:
            raise UserExists(f"user {user.username!r} already exists; choose another username") from None

    def _one(self, where: str, value: str) -> sqlite3.Row | None:
        with self.file.connect() as db:
            row: sqlite3.Row | None = db.execute(
                f"SELECT * FROM users WHERE {where} = ? AND disabled = 0", (value,)
            ).fetchone()
        return row

    def get_user(self, user_id: str) -> User | None:
        row = self._one("id", user_id)
        return _user(row) if row else None

    def get_by_username(self, username: str) -> User | None:
        row = self._one("username", username)
        return _user(row) if row else None

    def credentials(self, username: str) -> tuple[User, str] | None:
        row = self._one("username", username)
        return (_user(row), row["password_hash"]) if row else None

    def list_users(self) -> list[User]:
        with self.file.connect() as db:
            rows = db.execute("SELECT * FROM users WHERE disabled = 0 ORDER BY username").fetchall()
        return [_user(r) for r in rows]

    def _set(self, column: str, value: str | None, username: str) -> bool:
        with self.file.connect() as db:
            cur = db.execute(f"UPDATE users SET {column} = ? WHERE username = ?", (value, username))
        return cur.rowcount > 0

    def set_password_hash(self, username: str, password_hash: str) -> bool:
        return self._set("password_hash", password_hash, username)

    def change_password_hash(self, username: str, password_hash: str) -> bool:
        with self.file.connect() as db:
            cur = db.execute(
                "UPDATE users SET password_hash = ?, token_version = token_version + 1 WHERE username = ?",
                (password_hash, username),
            )
        return cur.rowcount > 0

    def token_version(self, user_id: str) -> int:
        with self.file.connect() as db:
            row = db.execute("SELECT token_version FROM users WHERE id = ?", (user_id,)).fetchone()
        return int(row[0]) if row else 0

    def set_role(self, username: str, role: Role) -> bool:
        return self._set("role", role.value, username)

    def set_organisation(self, username: str, organisation: str | None) -> bool:
        return self._set("organisation", organisation, username)

    def add_api_key(self, key: ApiKey, key_hash: str) -> None:
        with self.file.connect() as db:
            db.execute(
                "INSERT INTO api_keys (id, key_hash, user_id, name, created_at) VALUES (?, ?, ?, ?, ?)",
                (key.id, key_hash, key.user_id, key.name, key.created_at),
            )

    def user_for_key(self, key_hash: str, used_at: str) -> User | None:
        with self.file.connect() as db:
            row = db.execute(
                "SELECT u.*, k.id AS key_id FROM api_keys k JOIN users u ON u.id = k.user_id"
                " WHERE k.key_hash = ? AND k.revoked = 0 AND u.disabled = 0",
                (key_hash,),
            ).fetchone()
            if row is None:
                return None
            db.execute("UPDATE api_keys SET last_used_at = ? WHERE id = ?", (used_at, row["key_id"]))
        return _user(row, via="api_key", api_key_id=row["key_id"])

    def api_keys(self, user_id: str) -> list[ApiKey]:
        with self.file.connect() as db:
            rows = db.execute("SELECT * FROM api_keys WHERE user_id = ? ORDER BY created_at", (user_id,)).fetchall()
        return [_api_key(r) for r in rows]

    def get_api_key(self, key_id: str) -> ApiKey | None:
        with self.file.connect() as db:
            r = db.execute("SELECT * FROM api_keys WHERE id = ?", (key_id,)).fetchone()
        return _api_key(r) if r else None

    def revoke_api_key(self, key_id: str) -> bool:
        with self.file.connect() as db:
            cur = db.execute("UPDATE api_keys SET revoked = 1 WHERE id = ? AND revoked = 0", (key_id,))
        return cur.rowcount > 0

    def login_throttle(self, key: str) -> LoginThrottle | None:
        with self.file.connect() as db:
            row = db.execute("SELECT * FROM login_throttle WHERE key = ?", (key,)).fetchone()
        return _throttle(row) if row else None

    def change_login_throttle(
        self, key: str, change: Callable[[LoginThrottle | None], LoginThrottle | None]
    ) -> LoginThrottle | None:
        with self.file.connect() as db:
            db.execute("BEGIN IMMEDIATE")  # the read and the write below are one step for every process
            row = db.execute("SELECT * FROM login_throttle WHERE key = ?", (key,)).fetchone()
            new = change(_throttle(row) if row else None)
            if new is None:
                db.execute("DELETE FROM login_throttle WHERE key = ?", (key,))
            else:
                db.execute(
                    "INSERT OR REPLACE INTO login_throttle (key, failures, last_failure_at, locked_until)"
                    " VALUES (?, ?, ?, ?)",
                    (key, new.failures, new.last_failure_at, new.locked_until),
                )
        return new


def _throttle(row: sqlite3.Row) -> LoginThrottle:
    return LoginThrottle(row["key"], row["failures"], row["last_failure_at"], row["locked_until"])
