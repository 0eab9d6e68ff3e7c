"""Login throttling: per-account and per-client counts, doubling lockouts, the window, and what a success resets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from riskmine.review.login_guard import LoginGuard, LoginPolicy, LoginThrottled, lockout_seconds
from riskmine.review.sqlite_repository import SQLiteReviewRepository, SQLiteUserRepository
from riskmine.review.users import UserStore

PASSWORD = "correct-horse-battery"
POLICY = LoginPolicy(max_failures=3, client_max_failures=5, window_seconds=600, lockout_seconds=60)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def guard(tmp_path: Path, clock: Clock) -> LoginGuard:
    hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    users = UserStore(SQLiteUserRepository(tmp_path / "users.sqlite3"), hasher, clock=clock)
    users.create_user("li", PASSWORD, "analyst")
    return LoginGuard(users, SQLiteReviewRepository(tmp_path / "review.sqlite3"), POLICY)


def test_lockouts_double_up_to_the_cap() -> None:
    assert [lockout_seconds(POLICY, n, 3) for n in (2, 3, 4, 5, 6, 99)] == [0, 60, 120, 240, 480, 900]


def test_a_success_resets_the_account_but_not_the_client(guard: LoginGuard) -> None:
    for _ in range(2):
        assert guard.login("li", "wrong-password", "10.0.0.1") is None
    assert guard.login("li", PASSWORD, "10.0.0.1") is not None
    for _ in range(2):
        assert guard.login("li", "wrong-password", "10.0.0.1") is None  # 4 failures from the client, 2 on li
    assert guard.login("wang", "wrong-password", "10.0.0.1") is None  # the client's 5th: locked
    with pytest.raises(LoginThrottled) as refused:
        guard.login("li", PASSWORD, "10.0.0.1")
    assert refused.value.retry_after == 60 and refused.value.headers == {"Retry-After": "60"}
    assert guard.login("li", PASSWORD, "10.0.0.2") is not None  # the account itself is not locked


def test_failures_are_forgotten_a_window_after_the_last_one(guard: LoginGuard, clock: Clock) -> None:
    for _ in range(2):
        guard.login("li", "wrong-password", "10.0.0.1")
    clock.now += timedelta(seconds=601)
    for _ in range(2):
        assert guard.login("li", "wrong-password", "10.0.0.1") is None
    assert guard.login("li", PASSWORD, "10.0.0.1") is not None
