"""Users, roles and API keys, kept in their own SQLite file (<var_dir>/users.sqlite3).

Passwords are hashed with argon2id; API keys are random tokens of which only the
SHA-256 digest is stored (a key is shown once, when it is created).
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from riskmine.review.roles import Role
from riskmine.schema.errors import RiskmineError
from riskmine.store.local import SQLiteFile, script

USERS_FILE = "users.sqlite3"
API_KEY_PREFIX = "rmk_"
MIN_PASSWORD_CHARS = 8
MAX_USERNAME_CHARS = 64

# (username, password, role, organisation in the demo tree of riskmine.review.orgs.DEMO_ORGS)
DEMO_USERS: tuple[tuple[str, str, str, str | None], ...] = (
    ("admin", "admin-demo-pass", "admin", "四川省"),
    ("analyst", "analyst-demo-pass", "analyst", "四川省"),
    ("publisher", "publisher-demo-pass", "publisher", "四川省"),
    ("station", "station-demo-pass", "station", "武侯区产品质量监测站"),
    ("viewer", "viewer-demo-pass", "viewer", "成都市"),
    ("consumer", "consumer-demo-pass", "api_consumer", None),
)

_SCHEMA = """
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


# Append only: each entry upgrades the file by one schema version.
MIGRATIONS = [script(_SCHEMA)]


class UserError(RiskmineError, ValueError):
    """A user or key could not be created or changed; the message says why."""

    code = "invalid_user"
    status = 422


class UserExists(UserError):
    code = "user_exists"


class DemoUsersRefused(UserError):
    code = "demo_users_refused"


@dataclass(frozen=True)
class User:
    """An authenticated principal. `via` says how it authenticated: password, token, cookie or api_key."""

    id: str
    username: str
    role: Role
    organisation: str | None = None
    via: str = "password"
    api_key_id: str | None = None

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "username": self.username,
            "role": self.role.value,
            "organisation": self.organisation,
            "via": self.via,
        }


@dataclass(frozen=True)
class ApiKey:
    id: str
    user_id: str
    name: str
    created_at: str
    revoked: bool
    last_used_at: str | None


def default_hasher() -> PasswordHasher:
    """argon2id with the library's defaults (RFC 9106 low-memory profile)."""
    return PasswordHasher()


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _parse_role(role: str | Role) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise UserError(f"unknown role {role!r}; roles are: {', '.join(r.value for r in Role)}") from None


class UserStore:
    """The users and api_keys tables. Each call opens its own connection (safe across threads)."""

    def __init__(self, path: Path, hasher: PasswordHasher | None = None) -> None:
        self.path = Path(path)
        self.hasher = hasher or default_hasher()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.file = SQLiteFile(self.path, MIGRATIONS)
        # A hash to verify against when the user does not exist, so both cases take as long.
        self._dummy_hash = self.hasher.hash(secrets.token_urlsafe(16))

    @classmethod
    def from_settings(cls, settings: Any, hasher: PasswordHasher | None = None) -> UserStore:
        return cls(Path(settings.var_dir) / USERS_FILE, hasher)

    def _connect(self) -> AbstractContextManager[sqlite3.Connection]:
        return self.file.connect()

    # users

    def create_user(
        self, username: str, password: str, role: str | Role = Role.viewer, organisation: str | None = None
    ) -> User:
        username = username.strip()
        if not username or len(username) > MAX_USERNAME_CHARS or any(c.isspace() for c in username):
            raise UserError(f"username must be 1-{MAX_USERNAME_CHARS} characters without spaces")
        if len(password) < MIN_PASSWORD_CHARS:
            raise UserError(f"password must have at least {MIN_PASSWORD_CHARS} characters")
        user = User(id="u" + secrets.token_hex(8), username=username, role=_parse_role(role), organisation=organisation)
        try:
            with self._connect() as db:
                db.execute(
                    "INSERT INTO users (id, username, password_hash, role, organisation, created_at)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (user.id, username, self.hasher.hash(password), user.role.value, organisation, _now()),
                )
        except sqlite3.IntegrityError:
            raise UserExists(f"user {username!r} already exists; choose another username") from None
        return user

    def _row_to_user(self, row: sqlite3.Row, via: str = "password", api_key_id: str | None = None) -> User:
        return User(
            id=row["id"],
            username=row["username"],
            role=Role(row["role"]),
            organisation=row["organisation"],
            via=via,
            api_key_id=api_key_id,
        )

    def get_user(self, user_id: str) -> User | None:
        with self._connect() as db:
            row = db.execute("SELECT * FROM users WHERE id = ? AND disabled = 0", (user_id,)).fetchone()
        return self._row_to_user(row) if row else None

    def get_by_username(self, username: str) -> User | None:
        with self._connect() as db:
            row = db.execute("SELECT * FROM users WHERE username = ? AND disabled = 0", (username,)).fetchone()
        return self._row_to_user(row) if row else None

    def list_users(self) -> list[User]:
        with self._connect() as db:
            rows = db.execute("SELECT * FROM users WHERE disabled = 0 ORDER BY username").fetchall()
        return [self._row_to_user(r) for r in rows]

    def authenticate(self, username: str, password: str) -> User | None:
        """The user if the password matches, else None (taking as long either way)."""
        with self._connect() as db:
            row = db.execute("SELECT * FROM users WHERE username = ? AND disabled = 0", (username,)).fetchone()
        stored = row["password_hash"] if row else self._dummy_hash
        try:
            self.hasher.verify(stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        if row is None:
            return None
        if self.hasher.check_needs_rehash(stored):
            with self._connect() as db:
                db.execute("UPDATE users SET password_hash = ? WHERE id = ?", (self.hasher.hash(password), row["id"]))
        return self._row_to_user(row)

    def set_password(self, username: str, password: str) -> None:
        if len(password) < MIN_PASSWORD_CHARS:
            raise UserError(f"password must have at least {MIN_PASSWORD_CHARS} characters")
        with self._connect() as db:
            cur = db.execute(
                "UPDATE users SET password_hash = ? WHERE username = ?", (self.hasher.hash(password), username)
            )
        if cur.rowcount == 0:
            raise UserError(f"no user {username!r}")

    def set_role(self, username: str, role: str | Role) -> User:
        """Change a user's role; returns the changed user."""
        parsed = _parse_role(role)
        with self._connect() as db:
            cur = db.execute("UPDATE users SET role = ? WHERE username = ?", (parsed.value, username))
        if cur.rowcount == 0:
            raise UserError(f"no user {username!r}")
        return self._require(username)

    def set_organisation(self, username: str, organisation: str | None) -> User:
        """Change (or with None clear) a user's organisation; returns the changed user."""
        org = (organisation or "").strip() or None
        with self._connect() as db:
            cur = db.execute("UPDATE users SET organisation = ? WHERE username = ?", (org, username))
        if cur.rowcount == 0:
            raise UserError(f"no user {username!r}")
        return self._require(username)

    def _require(self, username: str) -> User:
        user = self.get_by_username(username)
        if user is None:
            raise UserError(f"no user {username!r}")
        return user

    # API keys

    def create_api_key(self, user_id: str, name: str = "default") -> tuple[ApiKey, str]:
        """A new key for the user: its record and the plaintext key (shown only now)."""
        if self.get_user(user_id) is None:
            raise UserError(f"no user with id {user_id!r}")
        key = API_KEY_PREFIX + secrets.token_urlsafe(32)
        record = ApiKey(
            id="k" + secrets.token_hex(8),
            user_id=user_id,
            name=name.strip() or "default",
            created_at=_now(),
            revoked=False,
            last_used_at=None,
        )
        with self._connect() as db:
            db.execute(
                "INSERT INTO api_keys (id, key_hash, user_id, name, created_at) VALUES (?, ?, ?, ?, ?)",
                (record.id, hash_api_key(key), user_id, record.name, record.created_at),
            )
        return record, key

    def authenticate_api_key(self, key: str) -> User | None:
        if not key.startswith(API_KEY_PREFIX):
            return None
        with self._connect() as db:
            row = db.execute(
                "SELECT u.*, k.id AS key_id FROM api_keys k JOIN users u ON u.id = k.user_id"
                " WHERE k.key_hash = ? AND k.revoked = 0 AND u.disabled = 0",
                (hash_api_key(key),),
            ).fetchone()
            if row is None:
                return None
            db.execute("UPDATE api_keys SET last_used_at = ? WHERE id = ?", (_now(), row["key_id"]))
        return self._row_to_user(row, via="api_key", api_key_id=row["key_id"])

    def list_api_keys(self, user_id: str) -> list[ApiKey]:
        with self._connect() as db:
            rows = db.execute("SELECT * FROM api_keys WHERE user_id = ? ORDER BY created_at", (user_id,)).fetchall()
        return [
            ApiKey(r["id"], r["user_id"], r["name"], r["created_at"], bool(r["revoked"]), r["last_used_at"])
            for r in rows
        ]

    def get_api_key(self, key_id: str) -> ApiKey | None:
        with self._connect() as db:
            r = db.execute("SELECT * FROM api_keys WHERE id = ?", (key_id,)).fetchone()
        if r is None:
            return None
        return ApiKey(r["id"], r["user_id"], r["name"], r["created_at"], bool(r["revoked"]), r["last_used_at"])

    def revoke_api_key(self, key_id: str) -> bool:
        with self._connect() as db:
            cur = db.execute("UPDATE api_keys SET revoked = 1 WHERE id = ? AND revoked = 0", (key_id,))
        return cur.rowcount > 0


def ensure_demo_users(settings: Any, users: UserStore | None = None) -> list[tuple[str, str, str]]:
    """Create the demo organisation tree and one demo user of every role if missing; return
    (username, password, role) for each.

    Idempotent: existing demo users are kept, their password reset to the demo one if it was changed.
    Refused outside development: demo passwords are public.
    """
    if getattr(settings, "env", "development") != "development":
        raise DemoUsersRefused(
            "demo users have public passwords and are only created when RISKMINE_ENV=development; "
            "create real users instead"
        )
    from riskmine.review.db import ReviewDB
    from riskmine.review.orgs import ensure_demo_orgs
    from riskmine.review.roles import SystemActor

    ensure_demo_orgs(ReviewDB.from_settings(settings), SystemActor("demo-setup"))
    store = users or UserStore.from_settings(settings)
    out = []
    for username, password, role, organisation in DEMO_USERS:
        if store.get_by_username(username) is None:
            store.create_user(username, password, role, organisation=organisation)
        elif store.authenticate(username, password) is None:
            store.set_password(username, password)  # keep the printed demo password true
        out.append((username, password, role))
    return out
