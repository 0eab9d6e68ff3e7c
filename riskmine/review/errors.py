"""Errors of the review workflow: each has a stable code and a message that says what to do."""

from __future__ import annotations

from riskmine.schema.errors import RiskmineError


class ReviewError(RiskmineError, ValueError):
    """A review action that cannot be done as asked; `code` is stable, the message says why."""

    code = "review_error"
    status = 422  # the HTTP status the API answers with


class ReviewNotFound(ReviewError):
    code = "not_found"
    status = 404


class ReviewForbidden(ReviewError):
    code = "forbidden"
    status = 403


class InvalidTransition(ReviewError):
    code = "invalid_transition"
    status = 409


class DeadlinePassed(ReviewError):
    code = "deadline_passed"
    status = 422


class ReviewConflict(ReviewError):
    code = "conflict"
    status = 409


class UserError(RiskmineError, ValueError):
    """A user or key could not be created or changed; the message says why."""

    code = "invalid_user"
    status = 422


class UserExists(UserError):
    code = "user_exists"


class DemoUsersRefused(UserError):
    code = "demo_users_refused"
