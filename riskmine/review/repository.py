"""Where the review state lives: the :class:`ReviewRepository` and :class:`UserRepository` protocols and the one
place that opens each.

The review modules (orgs, workflow, advisories, audit, feedback) keep the rules; a repository only
stores and finds records. Every change that the audit log must record is handed over together with its
:class:`~riskmine.review.records.AuditEntry`, and the repository writes both in one transaction, so the
log never misses a change nor records one that did not happen. The audit log is append-only in every
backend.

Users and API keys are a repository of their own: the password and key rules (argon2id hashes, keys kept
as SHA-256 digests) stay in :mod:`riskmine.review.users`; the repository stores hashes only.

The embedded backends are :class:`~riskmine.review.sqlite_repository.SQLiteReviewRepository`
(``<var_dir>/review.sqlite3``) and :class:`~riskmine.review.sqlite_repository.SQLiteUserRepository`
(``<var_dir>/users.sqlite3``). A shared backend for several API nodes implements the same protocols and
passes the same contract suites (``tests/review/repository_contract.py``): with ``RISKMINE_DATABASE_URL`` set,
:mod:`riskmine.review.pg_repository` keeps both in PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

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
    User,
)
from riskmine.review.roles import Role

if TYPE_CHECKING:
    from riskmine.settings import Settings

REVIEW_FILE = "review.sqlite3"
USERS_FILE = "users.sqlite3"


class ReviewRepository(Protocol):
    """Organisations, comments, objections, advisories and the audit log."""

    # Where files that belong with this review state are written (immediate reports, under reports/).
    var_dir: Path

    # organisations

    def get_org(self, name: str) -> Org | None: ...

    def add_org(self, org: Org, audit: AuditEntry) -> None:
        """Add an organisation; ReviewConflict when the name is taken."""
        ...

    def list_orgs(self) -> list[Org]:
        """Every organisation, by name."""
        ...

    def subtree(self, name: str) -> frozenset[str]:
        """The organisation and every one below it (empty when it is not in the tree)."""
        ...

    def org_names(self) -> frozenset[str]: ...

    # comments

    def add_comment(self, comment: Comment, audit: AuditEntry) -> None: ...

    def comments(self, candidate_id: str) -> list[Comment]:
        """The candidate's comments, oldest first."""
        ...

    # objections

    def add_objection(self, objection: Objection, audit: AuditEntry) -> None: ...

    def get_objection(self, objection_id: str) -> Objection | None: ...

    def answer_objection(self, answered: Objection, audit: AuditEntry) -> bool:
        """Store the answer if the objection is still open; False (and nothing written) otherwise."""
        ...

    def objections(self, *, candidate_id: str | None = None, status: str | None = None) -> list[Objection]:
        """Matching objections, oldest received first."""
        ...

    # advisories

    def add_advisory(self, advisory: Advisory, audit: AuditEntry) -> None: ...

    def get_advisory(self, advisory_id: str) -> Advisory | None: ...

    def publish_advisory(self, published: Advisory, audit: AuditEntry) -> bool:
        """Store the approval if the advisory is still a draft; False (and nothing written) otherwise."""
        ...

    def advisories(self, *, status: str, kinds: Sequence[str], limit: int, offset: int) -> tuple[list[Advisory], int]:
        """Advisories of this status and these kinds, newest first (published: by publication, drafts: by
        drafting), one page of them and how many match in all."""
        ...

    # audit

    def append_audit(self, entry: AuditEntry) -> None: ...

    def audit_events(self, query: AuditQuery, *, limit: int, offset: int) -> tuple[list[AuditEvent], int]:
        """Matching events, newest first, one page of them and how many match in all."""
        ...

    def close(self) -> None:
        """Release connections (the embedded backend holds none between calls)."""
        ...


def open_review_repository(settings: Settings) -> ReviewRepository:
    """The review repository the settings name: PostgreSQL when RISKMINE_DATABASE_URL is set, else a SQLite file."""
    if settings.database_url:
        from riskmine.review.pg_repository import PgReviewRepository

        return PgReviewRepository(
            settings.database_url, var_dir=Path(settings.var_dir), pool_size=settings.database_pool_size
        )
    from riskmine.review.sqlite_repository import SQLiteReviewRepository

    return SQLiteReviewRepository(Path(settings.var_dir) / REVIEW_FILE)


class UserRepository(Protocol):
    """Users (enabled ones are found; the password as its hash) and their API keys (as SHA-256 digests)."""

    def add_user(self, user: User, password_hash: str, created_at: str) -> None:
        """Add a user; UserExists when the username is taken."""
        ...

    def get_user(self, user_id: str) -> User | None: ...

    def get_by_username(self, username: str) -> User | None: ...

    def credentials(self, username: str) -> tuple[User, str] | None:
        """The enabled user of this name and its stored password hash."""
        ...

    def list_users(self) -> list[User]:
        """Enabled users, by username."""
        ...

    def set_password_hash(self, username: str, password_hash: str) -> bool:
        """False when there is no such user."""
        ...

    def change_password_hash(self, username: str, password_hash: str) -> bool:
        """Set a new password and, at once, revoke the user's tokens (next token version); False if no such user."""
        ...

    def token_version(self, user_id: str) -> int:
        """The user's token version (0 for an unknown user): a token issued under an older one is revoked."""
        ...

    def set_role(self, username: str, role: Role) -> bool: ...

    def set_organisation(self, username: str, organisation: str | None) -> bool: ...

    def set_disabled(self, username: str, disabled: bool) -> bool:
        """Disable (or enable again) a user: a disabled user is not found, logs in with nothing; False if no such
        user."""
        ...

    def generation(self) -> int:
        """A number that changes, for every process, whenever a user's or an API key's standing changes (role,
        organisation, disabled, token version, a revoked or deleted key), by any writer: a principal resolved
        under one generation holds until it changes. Cheap enough to read on every request."""
        ...

    def add_api_key(self, key: ApiKey, key_hash: str) -> None: ...

    def user_for_key(self, key_hash: str, used_at: str) -> User | None:
        """The enabled user owning this unrevoked key (``via="api_key"``), noting the key as used at ``used_at``."""
        ...

    def api_keys(self, user_id: str) -> list[ApiKey]:
        """The user's keys, oldest first."""
        ...

    def get_api_key(self, key_id: str) -> ApiKey | None: ...

    def revoke_api_key(self, key_id: str) -> bool:
        """False when the key does not exist or was revoked already."""
        ...

    # failed-login counters (the rules are in riskmine.review.login_guard)

    def login_throttle(self, key: str) -> LoginThrottle | None:
        """The failed-login counter of this key, if one is kept."""
        ...

    def change_login_throttle(
        self, key: str, change: Callable[[LoginThrottle | None], LoginThrottle | None]
    ) -> LoginThrottle | None:
        """Replace the key's counter with ``change(current)`` (None: forget it) in one transaction, so that
        concurrent logins, in any process, count every failure; returns the new counter."""
        ...

    def close(self) -> None: ...


def open_user_repository(settings: Settings) -> UserRepository:
    """The user repository the settings name: PostgreSQL when RISKMINE_DATABASE_URL is set, else a SQLite file."""
    if settings.database_url:
        from riskmine.review.pg_repository import PgUserRepository

        return PgUserRepository(settings.database_url, pool_size=settings.database_pool_size)
    from riskmine.review.sqlite_repository import SQLiteUserRepository

    return SQLiteUserRepository(Path(settings.var_dir) / USERS_FILE)
