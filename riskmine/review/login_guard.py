"""Login throttling: failed logins lock an account, and a client address, with a back-off that doubles.

Failures are counted per account (the username as given, known or not, so that a refusal never tells whether an
account exists) and per client address (a higher threshold, against one client trying many usernames). Once a
count reaches its threshold every further attempt is refused, the right password included, until the lockout
ends; each failure after that doubles the lockout, up to a cap. Counts are forgotten a window after the last
failure (or the end of the last lockout); a successful login resets its account's count, not its client's.

The counters live in the user repository (``login_throttle`` in ``users.sqlite3``), so the API and the console,
in any number of processes, count against the same ones. Every failed login and every lockout is written to
the audit log (the username as given and the client address; never the password).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from riskmine.review import audit
from riskmine.review.records import LoginThrottle, User, iso
from riskmine.review.repository import ReviewRepository
from riskmine.review.users import UserStore
from riskmine.schema.errors import RiskmineError

if TYPE_CHECKING:
    from riskmine.settings import Settings

__all__ = ["LOGIN_FAILED", "LOGIN_LOCKED", "LoginGuard", "LoginPolicy", "LoginThrottled", "lockout_seconds"]

LOGIN_FAILED = "login.failed"
LOGIN_LOCKED = "login.locked"
ACCOUNT = "account"
CLIENT = "client"
MAX_KEY_CHARS = 200  # a username as given is kept (and audited) up to this length


class LoginThrottled(RiskmineError):
    """Too many failed logins for this account or from this client: retry after ``retry_after`` seconds."""

    code = "too_many_login_failures"
    status = 429

    def __init__(self, retry_after: int) -> None:
        self.retry_after = retry_after
        self.message = f"登录失败次数过多，已暂时锁定（login throttled）：请在 {_wait_text(retry_after)}后再试"
        self.headers = {"Retry-After": str(retry_after)}  # the API answers with these (riskmine.api.errors)
        super().__init__(self.message)


def _wait_text(seconds: int) -> str:
    return f"{seconds} 秒" if seconds < 60 else f"{math.ceil(seconds / 60)} 分钟"


@dataclass(frozen=True)
class LoginPolicy:
    """Thresholds and lockouts (RISKMINE_LOGIN_* settings)."""

    max_failures: int = 5
    client_max_failures: int = 20
    window_seconds: float = 900.0
    lockout_seconds: float = 60.0
    max_lockout_seconds: float = 900.0

    @classmethod
    def from_settings(cls, settings: Settings) -> LoginPolicy:
        return cls(
            max_failures=settings.login_max_failures,
            client_max_failures=settings.login_client_max_failures,
            window_seconds=settings.login_failure_window_seconds,
            lockout_seconds=settings.login_lockout_seconds,
            max_lockout_seconds=settings.login_max_lockout_seconds,
        )


def lockout_seconds(policy: LoginPolicy, failures: int, threshold: int) -> float:
    """The lockout after the ``failures``-th failure (none below ``threshold``; then doubling, up to the cap)."""
    if failures < threshold:
        return 0.0
    doublings = min(failures - threshold, 32)
    return float(min(policy.lockout_seconds * 2**doublings, policy.max_lockout_seconds))


@dataclass(frozen=True)
class _Anonymous:
    """Who tried to log in: the username as given, not (yet) a user."""

    username: str
    role: Any = None
    organisation: str | None = None


class LoginGuard:
    """Logs users in through :meth:`UserStore.authenticate`, counting and auditing failures and refusing
    attempts while their account or their client is locked."""

    def __init__(
        self,
        users: UserStore,
        audit_db: ReviewRepository,
        policy: LoginPolicy | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.users = users
        self.audit_db = audit_db
        self.policy = policy or LoginPolicy()
        self.clock = clock or users.clock

    def login(self, username: str, password: str, client: str) -> User | None:
        """The user if the password matches; None (the failure counted and audited) if not.

        Raises :class:`LoginThrottled` while the account or the client is locked, whatever the password."""
        name = username[:MAX_KEY_CHARS]
        client = client[:MAX_KEY_CHARS]
        counters = ((ACCOUNT, name, self.policy.max_failures), (CLIENT, client, self.policy.client_max_failures))
        repo = self.users.repository
        now = self.clock()
        wait = max(self._locked_for(repo.login_throttle(f"{kind}:{value}"), now) for kind, value, _ in counters)
        if wait > 0:
            raise LoginThrottled(math.ceil(wait))
        user = self.users.authenticate(username, password)
        if user is not None:
            repo.change_login_throttle(f"{ACCOUNT}:{name}", lambda _: None)
            return user
        actor = _Anonymous(name)
        failures = {}
        for kind, value, threshold in counters:
            key = f"{kind}:{value}"
            counted = repo.change_login_throttle(key, partial(self._failed, key, now=now, threshold=threshold))
            failures[f"{kind}_failures"] = counted.failures if counted else 0
            if counted is not None and counted.locked_until is not None:
                seconds = lockout_seconds(self.policy, counted.failures, threshold)
                after = {"client": client, "failures": counted.failures, "seconds": seconds}
                after["until"] = counted.locked_until
                audit.record(self.audit_db, actor, LOGIN_LOCKED, kind, value, after=after, at=now)
        audit.record(self.audit_db, actor, LOGIN_FAILED, "user", name, after={"client": client} | failures, at=now)
        return None

    def _expired(self, counter: LoginThrottle, now: datetime) -> bool:
        last = max(counter.last_failure_at, counter.locked_until or "")
        return datetime.fromisoformat(last) + timedelta(seconds=self.policy.window_seconds) <= now

    def _locked_for(self, counter: LoginThrottle | None, now: datetime) -> float:
        if counter is None or counter.locked_until is None:
            return 0.0
        return max((datetime.fromisoformat(counter.locked_until) - now).total_seconds(), 0.0)

    def _failed(self, key: str, current: LoginThrottle | None, now: datetime, threshold: int) -> LoginThrottle:
        failures = 1 if current is None or self._expired(current, now) else current.failures + 1
        seconds = lockout_seconds(self.policy, failures, threshold)
        locked_until = iso(now + timedelta(seconds=seconds)) if seconds > 0 else None
        return LoginThrottle(key, failures, iso(now), locked_until)
