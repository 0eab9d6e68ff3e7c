"""The user store: argon2 password hashes, roles, API keys stored as digests."""

from __future__ import annotations

import sqlite3

import pytest

from riskmine.review.roles import Role
from riskmine.review.users import UserError, UserExists, UserStore, hash_api_key


def test_passwords_are_argon2_hashed(users: UserStore) -> None:
    users.create_user("li", "a-long-password", "analyst", organisation="中心")
    with sqlite3.connect(users.repository.path) as db:
        (stored,) = db.execute("SELECT password_hash FROM users WHERE username = 'li'").fetchone()
    assert stored.startswith("$argon2id$")
    assert "a-long-password" not in stored
    user = users.authenticate("li", "a-long-password")
    assert user is not None
    assert (user.role, user.organisation) == (Role.analyst, "中心")
    assert users.authenticate("li", "wrong-password") is None
    assert users.authenticate("nobody", "a-long-password") is None


@pytest.mark.parametrize(
    ("username", "password", "role", "message"),
    [
        ("", "a-long-password", "viewer", "username"),
        ("has space", "a-long-password", "viewer", "username"),
        ("li", "short", "viewer", "at least 8"),
        ("li", "a-long-password", "overlord", "unknown role"),
    ],
)
def test_bad_users_are_refused_clearly(users: UserStore, username: str, password: str, role: str, message: str) -> None:
    with pytest.raises(UserError, match=message):
        users.create_user(username, password, role)


def test_duplicate_username(users: UserStore) -> None:
    users.create_user("li", "a-long-password")
    with pytest.raises(UserExists, match="already exists"):
        users.create_user("li", "another-password")


def test_api_keys_are_stored_as_digests(users: UserStore) -> None:
    user = users.create_user("station", "a-long-password", "station")
    record, key = users.create_api_key(user.id, "feed")
    with sqlite3.connect(users.repository.path) as db:
        (stored,) = db.execute("SELECT key_hash FROM api_keys").fetchone()
    assert stored == hash_api_key(key) != key
    found = users.authenticate_api_key(key)
    assert found is not None
    assert (found.username, found.via, found.api_key_id) == ("station", "api_key", record.id)
    assert users.list_api_keys(user.id)[0].last_used_at is not None
    assert users.authenticate_api_key(key + "x") is None
    assert users.authenticate_api_key("not-even-prefixed") is None
    assert users.revoke_api_key(record.id) is True
    assert users.authenticate_api_key(key) is None
    assert users.revoke_api_key(record.id) is False


def test_api_key_for_unknown_user(users: UserStore) -> None:
    with pytest.raises(UserError, match="no user"):
        users.create_api_key("u-missing")
