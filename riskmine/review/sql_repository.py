"""The review and user repositories written once, in SQL that SQLite and PostgreSQL both run.

A backend (:mod:`riskmine.review.sqlite_repository`, :mod:`riskmine.review.pg_repository`) supplies its tables
(its migrations), a connection in a transaction per call (``?`` placeholders, rows read by column name), the
integrity errors its driver raises, and how the failed-login counter of one key is locked for a read-then-write.
A change and its audit entry are written in one transaction.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
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

_OBJECTION_COLUMNS = tuple(Objection.__dataclass_fields__)
_ADVISORY_COLUMNS = tuple(Advisory.__dataclass_fields__)
_AUDIT_COLUMNS = tuple(AuditEntry.__dataclass_fields__)

# A connection of either driver (sqlite3, or psycopg through riskmine.store.postgres), and a row of it.
Connection = Any
Row = Any


def _insert(conn: Connection, table: str, row: dict[str, Any]) -> None:
    conn.execute(f"INSERT INTO {table} ({', '.join(row)}) VALUES ({', '.join('?' for _ in row)})", list(row.values()))


def _append(conn: Connection, entry: AuditEntry) -> None:
    _insert(conn, "audit", {c: getattr(entry, c) for c in _AUDIT_COLUMNS})


def _count(conn: Connection, query: str, args: Sequence[Any]) -> int:
    """The ``n`` of a ``SELECT COUNT(*) AS n ...``."""
    return int(conn.execute(query, args).fetchone()["n"])


def _org(row: Row) -> Org:
    return Org(row["name"], OrgLevel(row["level"]), row["parent"], row["created_at"])


def _event(row: Row) -> AuditEvent:
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


def _where(conditions: dict[str, Any]) -> tuple[str, list[Any]]:
    """A WHERE clause (or nothing) for every ``"column op"`` whose value is given, and its arguments."""
    given = {k: v for k, v in conditions.items() if v is not None}
    return (" WHERE " + " AND ".join(f"{c} ?" for c in given) if given else ""), list(given.values())


class SQLReviewRepository:
    """Organisations, comments, objections, advisories and the audit log, in SQL (a backend subclasses it)."""

    var_dir: Path
    # what the driver raises when a row breaks a key (a taken name)
    integrity_errors: tuple[type[Exception], ...] = ()

    def _connect(self) -> AbstractContextManager[Connection]:
        """A connection in a transaction: committed when the block ends, rolled back on an error."""
        raise NotImplementedError

    def close(self) -> None:
        return None  # no connection is held between calls (or the process's pool holds them)

    # organisations

    def get_org(self, name: str) -> Org | None:
        with self._connect() as c:
            row = c.execute("SELECT * FROM orgs WHERE name = ?", (name,)).fetchone()
        return _org(row) if row else None

    def add_org(self, org: Org, audit: AuditEntry) -> None:
        row = {"name": org.name, "level": org.level.value, "parent": org.parent, "created_at": org.created_at}
        try:
            with self._connect() as c:
                _insert(c, "orgs", row)
                _append(c, audit)
        except self.integrity_errors:
            if self.get_org(org.name) is not None:
                raise ReviewConflict(
                    f"organisation {org.name!r} already exists; names are unique across the tree"
                ) from None
            raise

    def list_orgs(self) -> list[Org]:
        with self._connect() as c:
            rows = c.execute("SELECT * FROM orgs ORDER BY name").fetchall()
        return [_org(r) for r in rows]

    def subtree(self, name: str) -> frozenset[str]:
        with self._connect() as c:
            rows = c.execute(
                "WITH RECURSIVE sub(name) AS (SELECT name FROM orgs WHERE name = ?"
                " UNION SELECT o.name FROM orgs o JOIN sub ON o.parent = sub.name) SELECT name FROM sub",
                (name,),
            ).fetchall()
        return frozenset(r["name"] for r in rows)

    def org_names(self) -> frozenset[str]:
        with self._connect() as c:
            return frozenset(r["name"] for r in c.execute("SELECT name FROM orgs").fetchall())

    # comments

    def add_comment(self, comment: Comment, audit: AuditEntry) -> None:
        self._add("comments", comment.public(), audit)

    def _add(self, table: str, row: dict[str, Any], audit: AuditEntry) -> None:
        with self._connect() as c:
            _insert(c, table, row)
            _append(c, audit)

    def comments(self, candidate_id: str) -> list[Comment]:
        with self._connect() as c:
            rows = c.execute(
                "SELECT * FROM comments WHERE candidate_id = ? ORDER BY created_at, id", (candidate_id,)
            ).fetchall()
        return [Comment(r["id"], r["candidate_id"], r["author"], r["text"], r["created_at"]) for r in rows]

    # objections

    def add_objection(self, objection: Objection, audit: AuditEntry) -> None:
        self._add("objections", objection.public(), audit)

    def get_objection(self, objection_id: str) -> Objection | None:
        with self._connect() as c:
            row = c.execute("SELECT * FROM objections WHERE id = ?", (objection_id,)).fetchone()
        return Objection(**{k: row[k] for k in _OBJECTION_COLUMNS}) if row else None

    def _change_once(self, query: str, args: Sequence[Any], audit: AuditEntry) -> bool:
        """Run an UPDATE that matches one row while it is still in its first state, and log it; False (nothing
        written) when it matches none."""
        with self._connect() as c:
            if c.execute(query, args).rowcount != 1:
                return False
            _append(c, audit)
        return True

    def answer_objection(self, answered: Objection, audit: AuditEntry) -> bool:
        return self._change_once(
            "UPDATE objections SET status = ?, answer = ?, answered_by = ?, answered_at = ?"
            " WHERE id = ? AND status = 'open'",
            (answered.status, answered.answer, answered.answered_by, answered.answered_at, answered.id),
            audit,
        )

    def objections(self, *, candidate_id: str | None = None, status: str | None = None) -> list[Objection]:
        clause, args = _where({"candidate_id =": candidate_id, "status =": status})
        with self._connect() as c:
            rows = c.execute("SELECT * FROM objections" + clause + " ORDER BY received_at, id", args).fetchall()
        return [Objection(**{k: r[k] for k in _OBJECTION_COLUMNS}) for r in rows]

    # advisories

    def add_advisory(self, advisory: Advisory, audit: AuditEntry) -> None:
        self._add("advisories", advisory.public(), audit)

    def get_advisory(self, advisory_id: str) -> Advisory | None:
        with self._connect() as c:
            row = c.execute("SELECT * FROM advisories WHERE id = ?", (advisory_id,)).fetchone()
        return Advisory(**{k: row[k] for k in _ADVISORY_COLUMNS}) if row else None

    def publish_advisory(self, published: Advisory, audit: AuditEntry) -> bool:
        return self._change_once(
            "UPDATE advisories SET status = ?, approved_by = ?, published_at = ? WHERE id = ? AND status = 'draft'",
            (published.status, published.approved_by, published.published_at, published.id),
            audit,
        )

    def advisories(self, *, status: str, kinds: Sequence[str], limit: int, offset: int) -> tuple[list[Advisory], int]:
        if not kinds:
            return [], 0
        where = f" WHERE status = ? AND kind IN ({', '.join('?' for _ in kinds)})"
        args: list[Any] = [status, *kinds]
        order = "published_at" if status == "published" else "drafted_at"
        with self._connect() as c:
            total = _count(c, "SELECT COUNT(*) AS n FROM advisories" + where, args)
            rows = c.execute(
                "SELECT * FROM advisories" + where + f" ORDER BY {order} DESC, id LIMIT ? OFFSET ?",
                [*args, limit, offset],
            ).fetchall()
        return [Advisory(**{k: r[k] for k in _ADVISORY_COLUMNS}) for r in rows], total

    # audit

    def append_audit(self, entry: AuditEntry) -> None:
        with self._connect() as c:
            _append(c, entry)

    def audit_events(self, query: AuditQuery, *, limit: int, offset: int) -> tuple[list[AuditEvent], int]:
        conditions = {f"{c} =": getattr(query, c) for c in ("actor", "action", "target_kind", "target_id")}
        clause, args = _where(conditions | {"at >=": query.since, "at <=": query.until})
        with self._connect() as c:
            total = _count(c, "SELECT COUNT(*) AS n FROM audit" + clause, args)
            rows = c.execute(
                "SELECT * FROM audit" + clause + " ORDER BY seq DESC LIMIT ? OFFSET ?", [*args, limit, offset]
            ).fetchall()
        return [_event(r) for r in rows], total


def _user(row: Row, via: str = "password", api_key_id: str | None = None) -> User:
    return User(
        id=row["id"],
        username=row["username"],
        role=Role(row["role"]),
        organisation=row["organisation"],
        via=via,
        api_key_id=api_key_id,
    )


# The users' generation: a counter that triggers bump on every change of a user's or key's standing (sqlite_repository,
# pg_repository).
GENERATION_QUERY = "SELECT generation FROM users_generation WHERE id = 1"
_no_generation = itertools.count(-1, -1)


def generation_of(value: Any) -> int:
    """The generation read (its row's value); without the row (deleted by hand) a new number at every read, so that
    nothing stays cached under it."""
    return int(value) if value is not None else next(_no_generation)


def _api_key(r: Row) -> ApiKey:
    return ApiKey(r["id"], r["user_id"], r["name"], r["created_at"], bool(r["revoked"]), r["last_used_at"])


def _throttle(row: Row) -> LoginThrottle:
    return LoginThrottle(row["key"], row["failures"], row["last_failure_at"], row["locked_until"])


class SQLUserRepository:
    """Users, their API keys and the failed-login counters, in SQL (a backend subclasses it)."""

    integrity_errors: tuple[type[Exception], ...] = ()

    def _connect(self) -> AbstractContextManager[Connection]:
        """A connection in a transaction: committed when the block ends, rolled back on an error."""
        raise NotImplementedError

    def _lock_throttle(self, db: Connection, key: str) -> None:
        """Hold, until the transaction ends, the lock that makes reading and writing ``key``'s counter one step
        for every process."""
        raise NotImplementedError

    def close(self) -> None:
        return None

    def add_user(self, user: User, password_hash: str, created_at: str) -> None:
        try:
            with self._connect() as db:
                db.execute(
                    "INSERT INTO users (id, username, password_hash, role, organisation, created_at)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (user.id, user.username, password_hash, user.role.value, user.organisation, created_at),
                )
        except self.integrity_errors:
            raise UserExists(f"user {user.username!r} already exists; choose another username") from None

    def _one(self, where: str, value: str) -> Row | None:
        with self._connect() as db:
            return db.execute(f"SELECT * FROM users WHERE {where} = ? AND disabled = 0", (value,)).fetchone()

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
        with self._connect() as db:
            rows = db.execute("SELECT * FROM users WHERE disabled = 0 ORDER BY username").fetchall()
        return [_user(r) for r in rows]

    def _update(self, query: str, args: Sequence[Any]) -> bool:
        with self._connect() as db:
            return bool(db.execute(query, args).rowcount > 0)

    def _set(self, column: str, value: str | None, username: str) -> bool:
        return self._update(f"UPDATE users SET {column} = ? WHERE username = ?", (value, username))

    def set_password_hash(self, username: str, password_hash: str) -> bool:
        return self._set("password_hash", password_hash, username)

    def change_password_hash(self, username: str, password_hash: str) -> bool:
        return self._update(
            "UPDATE users SET password_hash = ?, token_version = token_version + 1 WHERE username = ?",
            (password_hash, username),
        )

    def set_disabled(self, username: str, disabled: bool) -> bool:
        return self._update("UPDATE users SET disabled = ? WHERE username = ?", (int(disabled), username))

    def generation(self) -> int:
        with self._connect() as db:
            row = db.execute(GENERATION_QUERY).fetchone()
        return generation_of(row["generation"] if row else None)

    def token_version(self, user_id: str) -> int:
        with self._connect() as db:
            row = db.execute("SELECT token_version FROM users WHERE id = ?", (user_id,)).fetchone()
        return int(row["token_version"]) if row else 0

    def set_role(self, username: str, role: Role) -> bool:
        return self._set("role", role.value, username)

    def set_organisation(self, username: str, organisation: str | None) -> bool:
        return self._set("organisation", organisation, username)

    def add_api_key(self, key: ApiKey, key_hash: str) -> None:
        with self._connect() as db:
            db.execute(
                "INSERT INTO api_keys (id, key_hash, user_id, name, created_at) VALUES (?, ?, ?, ?, ?)",
                (key.id, key_hash, key.user_id, key.name, key.created_at),
            )

    def user_for_key(self, key_hash: str, used_at: str) -> User | None:
        with self._connect() as db:
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
        with self._connect() as db:
            rows = db.execute("SELECT * FROM api_keys WHERE user_id = ? ORDER BY created_at, id", (user_id,)).fetchall()
        return [_api_key(r) for r in rows]

    def get_api_key(self, key_id: str) -> ApiKey | None:
        with self._connect() as db:
            r = db.execute("SELECT * FROM api_keys WHERE id = ?", (key_id,)).fetchone()
        return _api_key(r) if r else None

    def revoke_api_key(self, key_id: str) -> bool:
        return self._update("UPDATE api_keys SET revoked = 1 WHERE id = ? AND revoked = 0", (key_id,))

    def login_throttle(self, key: str) -> LoginThrottle | None:
        with self._connect() as db:
            row = db.execute("SELECT * FROM login_throttle WHERE key = ?", (key,)).fetchone()
        return _throttle(row) if row else None

    def change_login_throttle(
        self, key: str, change: Callable[[LoginThrottle | None], LoginThrottle | None]
    ) -> LoginThrottle | None:
        with self._connect() as db:
            self._lock_throttle(db, key)  # the read and the write below are one step for every process
            row = db.execute("SELECT * FROM login_throttle WHERE key = ?", (key,)).fetchone()
            new = change(_throttle(row) if row else None)
            if new is None:
                db.execute("DELETE FROM login_throttle WHERE key = ?", (key,))
            else:
                db.execute(
                    "INSERT INTO login_throttle (key, failures, last_failure_at, locked_until) VALUES (?, ?, ?, ?)"
                    " ON CONFLICT (key) DO UPDATE SET failures = excluded.failures,"
                    " last_failure_at = excluded.last_failure_at, locked_until = excluded.locked_until",
                    (key, new.failures, new.last_failure_at, new.locked_until),
                )
        return new
