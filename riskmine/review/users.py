"""Users, roles and API keys: the rules around the user repository (see riskmine.review.repository).

Passwords are hashed with argon2id; API keys are random tokens of which only the
SHA-256 digest is stored (a key is shown once, when it is created).

Every request names its principal by a credential (a token, a session cookie, an API key). Resolving one reads the
users database, so each process keeps the principals it resolved in a :class:`PrincipalCache`, by a digest of the
credential, and reads only the users' generation per request (one row; see
:meth:`~riskmine.review.repository.UserRepository.generation`): any change of a user's or key's standing, in any
process, changes it and empties every cache at the next request, so revocation is still immediate. argon2 is for
passwords at login only; an API key is found by its SHA-256 digest.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from cachetools import TLRUCache

from riskmine.review.errors import DemoUsersRefused, UserError, UserExists
from riskmine.review.records import ApiKey, User, now_utc
from riskmine.review.repository import USERS_FILE, UserRepository, open_user_repository
from riskmine.review.roles import Role

if TYPE_CHECKING:
    from riskmine.settings import Settings

__all__ = [
    "API_KEY_PREFIX",
    "DEMO_USERS",
    "MAX_USERNAME_CHARS",
    "MIN_PASSWORD_CHARS",
    "PRINCIPAL_CACHE_SIZE",
    "USERS_FILE",
    "ApiKey",
    "DemoUsersRefused",
    "PrincipalCache",
    "User",
    "UserError",
    "UserExists",
    "UserStore",
    "default_hasher",
    "demo_logins",
    "ensure_demo_users",
    "hash_api_key",
]

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


def default_hasher() -> PasswordHasher:
    """argon2id with the library's defaults (RFC 9106 low-memory profile)."""
    return PasswordHasher()


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# How many resolved principals a process keeps (least recently used dropped first).
PRINCIPAL_CACHE_SIZE = 10_000
# How long an API key's principal is kept before the key is looked up again, which notes its use (last_used_at).
KEY_NOTE_SECONDS = 60.0


def _until(_key: str, entry: tuple[User, float], _now: float) -> float:
    return entry[1]


class PrincipalCache:
    """This process's resolved principals, by credential digest. An entry holds until its time (a token's expiry;
    for an API key, until its use is noted again) and while the users' generation is the one it was resolved
    under: a request that reads another generation empties the cache. At most `maxsize` entries, least recently
    used dropped first. Thread-safe."""

    def __init__(self, maxsize: int = PRINCIPAL_CACHE_SIZE, timer: Callable[[], float] = time.time) -> None:
        if maxsize < 1:
            raise ValueError(f"a principal cache keeps at least one entry, not {maxsize}")
        self.timer = timer
        self._entries: TLRUCache[str, tuple[User, float]] = TLRUCache(maxsize, ttu=_until, timer=timer)
        self._generation: int | None = None
        self._lock = threading.Lock()

    def get(self, key: str, generation: int) -> User | None:
        """The principal kept for `key`, if it was resolved under this generation and has not expired."""
        with self._lock:
            if generation != self._generation:
                self._entries.clear()
                self._generation = generation
                return None
            found = self._entries.get(key)
        return found[0] if found else None

    def put(self, key: str, generation: int, user: User, until: float) -> None:
        """Keep `user` for `key` until `until` (the timer's time), unless the generation it was resolved under
        (read before resolving it) has been replaced meanwhile."""
        with self._lock:
            if generation == self._generation:
                self._entries[key] = (user, until)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)


def _parse_role(role: str | Role) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise UserError(f"unknown role {role!r}; roles are: {', '.join(r.value for r in Role)}") from None


class UserStore:
    """Users and API keys: checks names and passwords, hashes them, and keeps them in a user repository."""

    def __init__(
        self,
        repository: UserRepository,
        hasher: PasswordHasher | None = None,
        clock: Callable[[], datetime] = now_utc,
        principals: PrincipalCache | None = None,
    ) -> None:
        self.repository = repository
        self.hasher = hasher or default_hasher()
        self.clock = clock  # the time login throttling goes by (riskmine.review.login_guard)
        self.principals = principals or PrincipalCache()
        # A hash to verify against when the user does not exist, so both cases take as long.
        self._dummy_hash = self.hasher.hash(secrets.token_urlsafe(16))

    @classmethod
    def from_settings(cls, settings: Settings, hasher: PasswordHasher | None = None) -> UserStore:
        return cls(open_user_repository(settings), hasher)

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
        self.repository.add_user(user, self.hasher.hash(password), _now())
        return user

    def get_user(self, user_id: str) -> User | None:
        return self.repository.get_user(user_id)

    def get_by_username(self, username: str) -> User | None:
        return self.repository.get_by_username(username)

    def list_users(self) -> list[User]:
        return self.repository.list_users()

    def authenticate(self, username: str, password: str) -> User | None:
        """The user if the password matches, else None (taking as long either way)."""
        found = self.repository.credentials(username)
        stored = found[1] if found else self._dummy_hash
        try:
            self.hasher.verify(stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        if found is None:
            return None
        user = found[0]
        if self.hasher.check_needs_rehash(stored):
            self.repository.set_password_hash(user.username, self.hasher.hash(password))
        return user

    def set_password(self, username: str, password: str) -> None:
        if len(password) < MIN_PASSWORD_CHARS:
            raise UserError(f"password must have at least {MIN_PASSWORD_CHARS} characters")
        # a new password revokes every token issued before it (they carry the old token version)
        if not self.repository.change_password_hash(username, self.hasher.hash(password)):
            raise UserError(f"no user {username!r}")

    def token_version(self, user_id: str) -> int:
        """The version a token of this user must carry (see :meth:`set_password`)."""
        return self.repository.token_version(user_id)

    def generation(self) -> int:
        """The users' generation (see :class:`PrincipalCache`)."""
        return self.repository.generation()

    def set_disabled(self, username: str, disabled: bool = True) -> None:
        """Disable a user (or enable one again): a disabled user's tokens, session and API keys are refused on the
        next request, in every process."""
        if not self.repository.set_disabled(username, disabled):
            raise UserError(f"no user {username!r}")

    def set_role(self, username: str, role: str | Role) -> User:
        """Change a user's role; returns the changed user."""
        if not self.repository.set_role(username, _parse_role(role)):
            raise UserError(f"no user {username!r}")
        return self._require(username)

    def set_organisation(self, username: str, organisation: str | None) -> User:
        """Change (or with None clear) a user's organisation; returns the changed user."""
        if not self.repository.set_organisation(username, (organisation or "").strip() or None):
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
        self.repository.add_api_key(record, hash_api_key(key))
        return record, key

    def authenticate_api_key(self, key: str) -> User | None:
        """The owner of an unrevoked key (``via="api_key"``), from this process's cache while the users' generation
        holds; the key's use is noted at most once every KEY_NOTE_SECONDS."""
        if not key.startswith(API_KEY_PREFIX):
            return None
        digest = hash_api_key(key)
        generation = self.generation()  # read before the lookup: a change after it is seen by the next request
        user = self.principals.get("key:" + digest, generation)
        if user is None:
            user = self.repository.user_for_key(digest, _now())
            if user is not None:
                self.principals.put("key:" + digest, generation, user, self.principals.timer() + KEY_NOTE_SECONDS)
        return user

    def list_api_keys(self, user_id: str) -> list[ApiKey]:
        return self.repository.api_keys(user_id)

    def get_api_key(self, key_id: str) -> ApiKey | None:
        return self.repository.get_api_key(key_id)

    def revoke_api_key(self, key_id: str) -> bool:
        return self.repository.revoke_api_key(key_id)


def demo_logins(settings: Settings, users: UserStore) -> list[tuple[str, str, str, str | None]]:
    """(username, password, role, organisation) of each demo user this user store holds, in development only,
    where `riskmine demo` created them with their public passwords (and resets them on every run); none elsewhere.
    The console's login page lists them, as `riskmine demo` prints them."""
    if getattr(settings, "env", "development") != "development":
        return []
    out = []
    for username, password, role, _ in DEMO_USERS:
        found = users.get_by_username(username)
        if found is not None and found.role.value == role:
            out.append((username, password, role, found.organisation))
    return out


def ensure_demo_users(settings: Settings, users: UserStore | None = None) -> list[tuple[str, str, str]]:
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
    from riskmine.review.orgs import ensure_demo_orgs
    from riskmine.review.repository import open_review_repository
    from riskmine.review.roles import SystemActor

    ensure_demo_orgs(open_review_repository(settings), SystemActor("demo-setup"))
    store = users or UserStore.from_settings(settings)
    out = []
    for username, password, role, organisation in DEMO_USERS:
        if store.get_by_username(username) is None:
            store.create_user(username, password, role, organisation=organisation)
        elif store.authenticate(username, password) is None:
            store.set_password(username, password)  # keep the printed demo password true
        out.append((username, password, role))
    return out
