"""Authentication and access policies: token flow, session cookie, API keys, roles, secrets."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from riskmine.api.app import create_app
from riskmine.api.auth import COOKIE_NAME, check_secret, create_access_token
from riskmine.review import audit
from riskmine.review.orgs import DEMO_ORGS, list_orgs
from riskmine.review.records import User
from riskmine.review.repository import open_review_repository, open_user_repository
from riskmine.review.roles import Role
from riskmine.review.users import DemoUsersRefused, PrincipalCache, UserStore, ensure_demo_users
from riskmine.settings import InsecureSecretError, Settings
from riskmine.store.sqlite import SQLiteStore
from tests.api.apikit import PASSWORD, TEST_SECRET, keyword_pipeline

PRODUCTION = {"env": "production", "secret_key": TEST_SECRET}


def token_for(client: TestClient, username: str, password: str = PASSWORD) -> Any:
    return client.post("/api/v1/auth/token", data={"username": username, "password": password})


# --- token flow -------------------------------------------------------------------------


def test_token_flow_and_me(client: TestClient, users: UserStore) -> None:
    users.create_user("li", PASSWORD, "analyst", organisation="风评中心")
    r = token_for(client, "li")
    assert r.status_code == 200
    body = r.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] > 0
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json() == {
        "id": me.json()["id"],
        "username": "li",
        "role": "analyst",
        "organisation": "风评中心",
        "via": "token",
    }


def test_wrong_password_and_unknown_user_are_401(client: TestClient, users: UserStore) -> None:
    users.create_user("li", PASSWORD, "analyst")
    for name, pw in (("li", "wrong-password"), ("nobody", PASSWORD)):
        r = token_for(client, name, pw)
        assert r.status_code == 401
        assert r.json()["error"]["code"] == "invalid_credentials"
        assert r.headers["www-authenticate"] == "Bearer"


def test_me_without_credentials_is_401(client: TestClient) -> None:
    r = client.get("/api/v1/auth/me")
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "not_authenticated"


def test_tampered_token_is_401(client: TestClient, login: Any) -> None:
    token = login("analyst")["Authorization"].split()[1]
    head, payload, sig = token.split(".")
    forged = f"{head}.{payload}.{sig[:-4]}AAAA"
    r = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {forged}"})
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "invalid_token"


def test_token_signed_with_another_secret_is_401(client: TestClient, users: UserStore, settings: Settings) -> None:
    user = users.create_user("li", PASSWORD, "admin")
    other = settings.model_copy(update={"secret_key": "another-secret-another-secret-another"})
    token, _ = create_access_token(user, other)
    r = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401


def test_expired_token_is_401(client: TestClient, users: UserStore, settings: Settings) -> None:
    user = users.create_user("li", PASSWORD, "admin")
    token, _ = create_access_token(user, settings, now=datetime.now(UTC) - timedelta(days=2))
    r = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "token_expired"


def test_a_password_change_revokes_earlier_tokens(client: TestClient, users: UserStore) -> None:
    users.create_user("li", PASSWORD, "analyst")
    old = client.post("/api/v1/auth/token", data={"username": "li", "password": PASSWORD}).json()["access_token"]
    assert client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {old}"}).status_code == 200
    users.set_password("li", PASSWORD + "-new")
    r = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {old}"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "token_revoked"
    data = {"username": "li", "password": PASSWORD + "-new"}
    new = client.post("/api/v1/auth/token", data=data).json()["access_token"]
    assert client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {new}"}).status_code == 200


def test_unsigned_token_is_refused(client: TestClient, users: UserStore) -> None:
    user = users.create_user("li", PASSWORD, "admin")
    now = datetime.now(UTC)
    claims = {"sub": user.id, "iss": "riskmine", "iat": now, "exp": now + timedelta(hours=1)}
    token = jwt.encode(claims, key="", algorithm="none")
    r = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401


def test_malformed_authorization_header_is_401(client: TestClient) -> None:
    r = client.get("/api/v1/auth/me", headers={"Authorization": "Basic Zm9vOmJhcg=="})
    assert r.status_code == 401
    assert "Bearer" in r.json()["error"]["message"]


# --- session cookie ---------------------------------------------------------------------


def test_console_login_sets_httponly_samesite_cookie(client: TestClient, users: UserStore) -> None:
    users.create_user("li", PASSWORD, "analyst")
    r = client.post("/login", data={"username": "li", "password": PASSWORD, "next": "/signals"}, follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/signals"
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE_NAME}=")
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    me = client.get("/api/v1/auth/me")
    assert me.status_code == 200
    assert me.json()["via"] == "cookie"


def test_console_login_failure_rerenders_form(client: TestClient, users: UserStore) -> None:
    users.create_user("li", PASSWORD, "analyst")
    r = client.post("/login", data={"username": "li", "password": "nope-nope", "next": "/"})
    assert r.status_code == 401
    assert "用户名或密码错误" in r.text
    assert COOKIE_NAME not in client.cookies


def test_login_redirect_never_leaves_the_site(client: TestClient, users: UserStore) -> None:
    users.create_user("li", PASSWORD, "analyst")
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"):
        r = client.post("/login", data={"username": "li", "password": PASSWORD, "next": target}, follow_redirects=False)
        assert r.status_code == 303
        assert r.headers["location"] == "/"


def test_logout_clears_the_cookie(client: TestClient, users: UserStore) -> None:
    users.create_user("li", PASSWORD, "analyst")
    client.post("/login", data={"username": "li", "password": PASSWORD}, follow_redirects=False)
    assert client.get("/api/v1/auth/me").status_code == 200
    r = client.post("/logout", follow_redirects=False)
    assert r.status_code == 303
    assert client.get("/api/v1/auth/me").status_code == 401


def test_cookie_post_from_another_site_is_refused(client: TestClient, users: UserStore) -> None:
    users.create_user("li", PASSWORD, "analyst")
    client.post("/login", data={"username": "li", "password": PASSWORD}, follow_redirects=False)
    r = client.post(
        "/api/v1/documents",
        json=[{"text": "充电宝起火", "source_type": "review"}],
        headers={"Origin": "https://evil.example"},
    )
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "cross_site_request"


def test_cookie_post_from_the_same_site_is_accepted(client: TestClient, users: UserStore) -> None:
    users.create_user("li", PASSWORD, "analyst")
    client.post("/login", data={"username": "li", "password": PASSWORD}, follow_redirects=False)
    r = client.post(
        "/api/v1/documents",
        json=[{"text": "充电宝起火", "source_type": "review"}],
        headers={"Origin": "http://testserver"},
    )
    assert r.status_code == 201, r.text


def test_expired_cookie_counts_as_logged_out(client: TestClient, users: UserStore, settings: Settings) -> None:
    user = users.create_user("li", PASSWORD, "admin")
    token, _ = create_access_token(user, settings, now=datetime.now(UTC) - timedelta(days=2))
    client.cookies.set(COOKIE_NAME, token)
    r = client.get("/", follow_redirects=False)  # logged out: sent to the login page, not refused with an error
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    assert client.get("/api/v1/auth/me").status_code == 401


# --- API keys ---------------------------------------------------------------------------


def test_api_key_create_use_and_revoke(client: TestClient, login: Any, users: UserStore) -> None:
    headers = login("station", username="jd-station")
    r = client.post("/api/v1/auth/api-keys", json={"name": "uploader"}, headers=headers)
    assert r.status_code == 201
    created = r.json()
    key = created["key"]
    assert key.startswith("rmk_")
    # only the hash is stored
    raw = users.repository.path.read_bytes()
    assert key.encode() not in raw
    me = client.get("/api/v1/auth/me", headers={"X-API-Key": key})
    assert me.json()["username"] == "jd-station"
    assert me.json()["via"] == "api_key"
    listed = client.get("/api/v1/auth/api-keys", headers=headers).json()
    assert [k["name"] for k in listed] == ["uploader"]
    assert "key" not in listed[0]
    r = client.delete(f"/api/v1/auth/api-keys/{created['id']}", headers=headers)
    assert r.json() == {"id": created["id"], "revoked": True}
    r = client.get("/api/v1/auth/me", headers={"X-API-Key": key})
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "invalid_api_key"


def test_unknown_api_key_is_401_not_anonymous(client: TestClient) -> None:
    r = client.get("/api/v1/candidates", headers={"X-API-Key": "rmk_not-a-key"})
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "invalid_api_key"


def test_an_api_key_writes_documents_as_its_owners_role(client: TestClient, login: Any, users: UserStore) -> None:
    rows = [{"text": "充电宝起火", "source_type": "review"}]
    viewer = users.create_user("machine", PASSWORD, "viewer")
    _, key = users.create_api_key(viewer.id, "feed")
    r = client.post("/api/v1/documents", json=rows, headers={"X-API-Key": key})
    assert r.status_code == 403, r.text
    station = users.create_user("station-machine", PASSWORD, "station", organisation="某监测站")
    _, key = users.create_api_key(station.id, "feed")
    r = client.post("/api/v1/documents", json=rows, headers={"X-API-Key": key})
    assert r.status_code == 201, r.text


def test_only_admins_create_keys_for_others(client: TestClient, login: Any, users: UserStore) -> None:
    users.create_user("station-a", PASSWORD, "station")
    analyst = login("analyst")
    r = client.post("/api/v1/auth/api-keys", json={"username": "station-a"}, headers=analyst)
    assert r.status_code == 403
    admin = login("admin")
    r = client.post("/api/v1/auth/api-keys", json={"username": "station-a", "name": "feed"}, headers=admin)
    assert r.status_code == 201
    assert client.get("/api/v1/auth/me", headers={"X-API-Key": r.json()["key"]}).json()["username"] == "station-a"


# --- roles and open reads ---------------------------------------------------------------


@pytest.mark.parametrize(("role", "status"), [("admin", 201), ("analyst", 201), ("station", 201), ("viewer", 403)])
def test_writing_documents_needs_a_writer_role(client: TestClient, login: Any, role: str, status: int) -> None:
    r = client.post("/api/v1/documents", json=[{"text": "充电宝起火", "source_type": "review"}], headers=login(role))
    assert r.status_code == status, r.text
    if status == 403:
        assert r.json()["error"]["code"] == "forbidden"


def test_writing_documents_anonymously_is_401_even_in_development(client: TestClient) -> None:
    r = client.post("/api/v1/documents", json=[{"text": "充电宝起火", "source_type": "review"}])
    assert r.status_code == 401


@pytest.mark.parametrize("env", ["development", "production"])
def test_reads_and_analyze_need_a_login_in_every_mode(
    make_client: Callable[..., TestClient], login: Any, env: str
) -> None:
    # Sichuan 第七条: no risk information goes out unapproved, so `make run` (development) is as closed as production
    app = make_client(env=env, secret_key=TEST_SECRET)
    for path in ("/api/v1/candidates", "/api/v1/signals", "/api/v1/documents/d1", "/api/v1/candidates/c1"):
        r = app.get(path)
        assert r.status_code == 401, path
        assert r.json()["error"]["code"] == "not_authenticated"
    assert app.post("/api/v1/analyze", json=[{"id": "1", "text": "充电宝起火"}]).status_code == 401
    headers = login("viewer", via=app)
    assert app.get("/api/v1/candidates", headers=headers).status_code == 200
    assert app.post("/api/v1/analyze", json=[{"id": "1", "text": "起火"}], headers=headers).status_code == 200


@pytest.mark.parametrize("env", ["development", "production"])
def test_anonymous_analysis_only_where_a_deployment_opts_in(make_client: Callable[..., TestClient], env: str) -> None:
    opened = make_client(env=env, secret_key=TEST_SECRET, open_analyze=True)
    assert opened.post("/api/v1/analyze", json=[{"id": "1", "text": "充电宝起火"}]).status_code == 200
    assert opened.get("/api/v1/candidates").status_code == 401  # it opens the analysis, nothing stored
    assert opened.get("/api/v1/signals").status_code == 401


def test_there_is_no_switch_that_opens_reads(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RISKMINE_OPEN_READS", "true")  # the old development default, now gone
    assert not hasattr(Settings(var_dir=tmp_path), "open_reads")
    assert Settings(var_dir=tmp_path).open_analyze is False


@pytest.mark.parametrize("env", ["development", "production"])
def test_console_redirects_to_login_in_every_mode(make_client: Callable[..., TestClient], env: str) -> None:
    app = make_client(env=env, secret_key=TEST_SECRET)
    r = app.get("/signals?q=充电宝", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"].startswith("/login?next=%2Fsignals%3Fq%3D")


def test_production_cookie_is_secure(make_client: Callable[..., TestClient], users: UserStore) -> None:
    prod = make_client(**PRODUCTION)
    users.create_user("li", PASSWORD, "analyst")
    r = prod.post("/login", data={"username": "li", "password": PASSWORD}, follow_redirects=False)
    assert "Secure" in r.headers["set-cookie"]


def test_user_admin_endpoints(client: TestClient, login: Any) -> None:
    admin = login("admin")
    r = client.post(
        "/api/v1/users", json={"username": "wang", "password": PASSWORD, "role": "publisher"}, headers=admin
    )
    assert r.status_code == 201
    assert r.json()["role"] == "publisher"
    again = client.post("/api/v1/users", json={"username": "wang", "password": PASSWORD}, headers=admin)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "user_exists"
    assert "wang" in [u["username"] for u in client.get("/api/v1/users", headers=admin).json()]
    r = client.get("/api/v1/users", headers=login("analyst"))
    assert r.status_code == 403


def test_an_admin_disables_a_user_who_is_refused_from_the_next_request(client: TestClient, login: Any) -> None:
    admin, analyst = login("admin"), login("analyst")
    assert client.get("/api/v1/auth/me", headers=analyst).status_code == 200
    assert client.post("/api/v1/users/analyst-user/disable", headers=analyst).status_code == 403
    r = client.post("/api/v1/users/analyst-user/disable", headers=admin)
    assert r.status_code == 200 and r.json() == {"username": "analyst-user", "disabled": True}
    assert client.get("/api/v1/auth/me", headers=analyst).status_code == 401  # the token it holds
    assert client.post("/api/v1/users/analyst-user/enable", headers=admin).json()["disabled"] is False
    assert client.get("/api/v1/auth/me", headers=analyst).status_code == 200
    assert client.post("/api/v1/users/admin-user/disable", headers=admin).status_code == 409  # not oneself
    missing = client.post("/api/v1/users/nobody/disable", headers=admin)
    assert missing.status_code == 404 and "nobody" in missing.json()["error"]["message"]
    events = client.get("/api/v1/audit", params={"target_id": "analyst-user"}, headers=admin).json()["items"]
    assert [e["action"] for e in events][:2] == ["user.enable", "user.disable"]


# --- secrets and demo users -------------------------------------------------------------


def test_default_secret_refused_outside_development(tmp_path: Any) -> None:
    s = Settings(env="production", var_dir=tmp_path)
    with pytest.raises(InsecureSecretError, match="RISKMINE_SECRET_KEY"):
        create_app(s)
    with pytest.raises(InsecureSecretError, match="at least 32"):
        check_secret(Settings(env="production", var_dir=tmp_path, secret_key="short"))
    check_secret(Settings(env="development", var_dir=tmp_path))  # the default is fine in development
    check_secret(Settings(env="production", var_dir=tmp_path, secret_key=TEST_SECRET))


def test_ensure_demo_users_is_idempotent(settings: Settings, users: UserStore) -> None:
    first = ensure_demo_users(settings, users)
    assert {role for _, _, role in first} == {r.value for r in Role}  # the demo starts with every role
    users.set_password("admin", "changed-password")
    second = ensure_demo_users(settings, users)
    assert second == first
    assert len(users.list_users()) == len(Role)
    for username, password, role in second:
        user = users.authenticate(username, password)
        assert user is not None
        assert user.role.value == role
    # users sit in the demo organisation tree, which is created with them
    assert users.get_by_username("station") is not None
    assert users.get_by_username("station").organisation == "武侯区产品质量监测站"  # type: ignore[union-attr]
    db = open_review_repository(settings)
    assert [o.name for o in list_orgs(db)] == sorted(name for name, _, _ in DEMO_ORGS)


def test_ensure_demo_users_uses_var_dir_by_default(settings: Settings) -> None:
    created = ensure_demo_users(settings)
    assert (settings.var_dir / "users.sqlite3").exists()
    assert UserStore.from_settings(settings).authenticate(created[0][0], created[0][1]) is not None


def test_demo_users_refused_in_production(tmp_path: Any) -> None:
    with pytest.raises(DemoUsersRefused):
        ensure_demo_users(Settings(env="production", var_dir=tmp_path, secret_key=TEST_SECRET))


# --- login throttling (issue 17) --------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock(users: UserStore) -> FakeClock:
    fake = FakeClock()
    users.clock = fake
    return fake


def test_thirty_wrong_passwords_lock_the_account_until_the_back_off_ends(
    client: TestClient, users: UserStore, settings: Settings, clock: FakeClock
) -> None:
    users.create_user("li", PASSWORD, "analyst")
    codes = [token_for(client, "li", f"wrong-password-{i}").status_code for i in range(30)]
    assert codes[:5] == [401] * 5 and set(codes[5:]) == {429}
    r = token_for(client, "li")  # the right password, while locked
    assert r.status_code == 429
    assert r.json()["error"]["code"] == "too_many_login_failures"
    assert "登录失败次数过多" in r.json()["error"]["message"]
    assert int(r.headers["retry-after"]) == 60
    clock.advance(61)
    assert token_for(client, "li", "wrong-again").status_code == 401  # the next failure locks for twice as long
    r = token_for(client, "li")
    assert r.status_code == 429 and int(r.headers["retry-after"]) == 120
    clock.advance(121)
    assert token_for(client, "li").status_code == 200  # and a success resets the count
    assert [token_for(client, "li", "wrong").status_code for _ in range(5)] == [401] * 5


def test_unknown_usernames_are_throttled_alike(client: TestClient, users: UserStore, clock: FakeClock) -> None:
    users.create_user("li", PASSWORD, "analyst")
    for name in ("li", "nobody"):
        codes = [token_for(client, name, "wrong-password").status_code for _ in range(6)]
        assert codes == [401] * 5 + [429]


def test_one_client_trying_many_usernames_is_locked(client: TestClient, users: UserStore, clock: FakeClock) -> None:
    users.create_user("li", PASSWORD, "analyst")
    codes = [token_for(client, f"user{i}", "wrong-password").status_code for i in range(20)]
    assert codes == [401] * 20
    r = token_for(client, "li")  # another account, the right password, the same client
    assert r.status_code == 429 and "retry-after" in r.headers
    clock.advance(61)
    assert token_for(client, "li").status_code == 200


def test_failed_logins_and_lockouts_are_audited(
    client: TestClient, users: UserStore, settings: Settings, clock: FakeClock
) -> None:
    for _ in range(5):
        token_for(client, "nobody", "secret-guess")
    db = open_review_repository(settings)
    failed, total = audit.events(db, action="login.failed")
    assert total == 5
    assert failed[0].target_id == "nobody" and failed[0].actor == "nobody"
    assert failed[0].after == {"client": "testclient", "account_failures": 5, "client_failures": 5}
    assert "secret-guess" not in str([e.public() for e in failed])
    locked, total = audit.events(db, action="login.locked")
    assert total == 1
    assert (locked[0].target_kind, locked[0].target_id) == ("account", "nobody")
    assert locked[0].after["seconds"] == 60


def test_console_login_is_throttled_with_the_api(client: TestClient, users: UserStore, clock: FakeClock) -> None:
    users.create_user("li", PASSWORD, "analyst")
    for _ in range(3):
        token_for(client, "li", "wrong-password")
    for _ in range(2):
        r = client.post("/login", data={"username": "li", "password": "nope-nope", "next": "/"})
        assert r.status_code == 401
    r = client.post("/login", data={"username": "li", "password": PASSWORD, "next": "/"}, follow_redirects=False)
    assert r.status_code == 429
    assert "登录失败次数过多" in r.text
    assert r.headers["retry-after"] == "60"
    assert COOKIE_NAME not in client.cookies
    clock.advance(60)
    r = client.post("/login", data={"username": "li", "password": PASSWORD, "next": "/"}, follow_redirects=False)
    assert r.status_code == 303


# --- the principal cache (issue 18): no users-database read per request, revocation still immediate ------------


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.integration)])
def on_backend(request: pytest.FixtureRequest, settings: Settings) -> Settings:
    """The settings, with the users in a SQLite file under the var dir or in PostgreSQL (tests/pg_server.py)."""
    if request.param == "sqlite":
        return settings
    pytest.importorskip("psycopg", reason="the PostgreSQL driver is not installed: pip install -e '.[pg]'")
    return settings.model_copy(update={"database_url": request.getfixturevalue("postgres_url")})


def user_store(settings: Settings) -> UserStore:
    """A new handle on the settings' users database, with its own cache: another process, in effect."""
    return UserStore(
        open_user_repository(settings), hasher=PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


@pytest.fixture
def served(on_backend: Settings, store: SQLiteStore) -> Iterator[tuple[TestClient, UserStore]]:
    """A client of an app whose users live on the backend, and the app's user store."""
    users = user_store(on_backend)
    with TestClient(create_app(on_backend, store=store, users=users, pipeline_factory=keyword_pipeline)) as client:
        yield client, users


def bearer(client: TestClient, username: str) -> dict[str, str]:
    r = token_for(client, username)
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def me(client: TestClient, headers: dict[str, str]) -> Any:
    return client.get("/api/v1/auth/me", headers=headers)


def credentials_of_li(client: TestClient, users: UserStore) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """A station user li's bearer token, API key and session cookie (as headers), each used once, so cached."""
    li = users.create_user("li", PASSWORD, "station")
    token = bearer(client, "li")
    _, key = users.create_api_key(li.id, "feed")
    cookie = {"Cookie": f"{COOKIE_NAME}={token['Authorization'].split()[1]}"}
    for headers in (token, {"X-API-Key": key}, cookie):
        assert me(client, headers).status_code == 200
    return token, {"X-API-Key": key}, cookie


def test_a_user_disabled_by_another_process_is_refused_on_the_next_request(
    served: tuple[TestClient, UserStore], on_backend: Settings
) -> None:
    client, users = served
    token, key, cookie = credentials_of_li(client, users)
    for headers in (token, key, cookie):
        assert me(client, headers).status_code == 200  # from the cache
    env = {**os.environ, "RISKMINE_VAR_DIR": str(on_backend.var_dir)}
    env.pop("RISKMINE_DATABASE_URL", None)
    if on_backend.database_url:
        env["RISKMINE_DATABASE_URL"] = on_backend.database_url
    code = (
        "from riskmine.review.repository import open_user_repository; from riskmine.settings import get_settings;"
        " assert open_user_repository(get_settings()).set_disabled('li', True)"
    )
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=120)
    assert me(client, token).json()["error"]["code"] == "invalid_token"
    assert me(client, key).json()["error"]["code"] == "invalid_api_key"
    assert me(client, cookie).status_code == 401  # the session counts as logged out
    user_store(on_backend).set_disabled("li", False)
    for headers in (token, key, cookie):
        assert me(client, headers).status_code == 200


def test_a_key_revoked_through_another_handle_is_refused_on_the_next_request(
    served: tuple[TestClient, UserStore], on_backend: Settings
) -> None:
    client, users = served
    li = users.create_user("li", PASSWORD, "station")
    record, key = users.create_api_key(li.id, "feed")
    _, kept = users.create_api_key(li.id, "backup")
    assert me(client, {"X-API-Key": key}).json()["via"] == "api_key"
    assert me(client, {"X-API-Key": kept}).status_code == 200
    assert user_store(on_backend).revoke_api_key(record.id)
    r = me(client, {"X-API-Key": key})
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key"
    assert me(client, {"X-API-Key": kept}).status_code == 200


def test_role_organisation_and_password_changes_apply_on_the_next_request(
    served: tuple[TestClient, UserStore], on_backend: Settings
) -> None:
    client, users = served
    users.create_user("li", PASSWORD, "analyst", organisation="四川省")
    token = bearer(client, "li")
    assert me(client, token).json()["role"] == "analyst"
    assert client.get("/api/v1/candidates", headers=token).status_code == 200
    other = user_store(on_backend)
    other.set_role("li", "api_consumer")
    assert me(client, token).json()["role"] == "api_consumer"
    assert client.get("/api/v1/candidates", headers=token).status_code == 403
    other.set_organisation("li", "成都市")
    assert me(client, token).json()["organisation"] == "成都市"
    other.set_password("li", PASSWORD + "-new")
    assert me(client, token).json()["error"]["code"] == "token_revoked"


def test_a_cached_token_is_refused_once_it_expires(client: TestClient, users: UserStore, settings: Settings) -> None:
    user = users.create_user("li", PASSWORD, "analyst")
    ttl = timedelta(minutes=settings.token_ttl_minutes)
    token, _ = create_access_token(user, settings, now=datetime.now(UTC) - ttl + timedelta(seconds=3))
    headers = {"Authorization": f"Bearer {token}"}
    assert me(client, headers).status_code == 200
    assert me(client, headers).status_code == 200  # from the cache
    expires = jwt.decode(token, options={"verify_signature": False})["exp"]
    time.sleep(max(0.0, expires - time.time() + 0.05))
    r = me(client, headers)
    assert r.status_code == 401 and r.json()["error"]["code"] == "token_expired"


def test_a_cached_principal_costs_one_generation_read(
    client: TestClient, users: UserStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After the first request of a credential, neither the token's user, its token version nor the key is read
    again (nor argon2 run); only the users' generation is, once per request."""
    token, key, cookie = credentials_of_li(client, users)
    calls: list[str] = []

    def counting(name: str, real: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any) -> Any:
            calls.append(name)
            return real(*args)

        return call

    for name in ("get_user", "token_version", "user_for_key", "credentials", "generation"):
        monkeypatch.setattr(users.repository, name, counting(name, getattr(users.repository, name)))
    monkeypatch.setattr(users, "hasher", None)  # argon2 on the request path would fail the request
    for headers in (token, key, cookie) * 3:
        assert me(client, headers).status_code == 200
    assert calls == ["generation"] * 9
    assert me(client, cookie).json()["via"] == "cookie" and me(client, token).json()["via"] == "token"


def test_the_principal_cache_is_bounded_least_recently_used_first() -> None:
    cache = PrincipalCache(maxsize=3)
    until = time.time() + 3600
    users = {k: User(f"u{k}", f"user{k}", Role.analyst) for k in range(5)}
    assert cache.get("k0", 7) is None  # the first read takes the generation
    for k in range(3):
        cache.put(f"k{k}", 7, users[k], until)
    assert cache.get("k0", 7) == users[0]  # k1 is now the least recently used
    cache.put("k3", 7, users[3], until)
    cache.put("k4", 7, users[4], until)
    assert len(cache) == 3
    assert [cache.get(f"k{k}", 7) for k in range(5)] == [users[0], None, None, users[3], users[4]]


def test_the_principal_cache_keeps_nothing_across_generations_or_past_expiry() -> None:
    now = [1000.0]
    cache = PrincipalCache(maxsize=10, timer=lambda: now[0])
    li = User("u1", "li", Role.analyst)
    assert cache.get("k", 1) is None
    cache.put("k", 1, li, 1010.0)
    assert cache.get("k", 1) == li
    now[0] = 1010.0
    assert cache.get("k", 1) is None  # expired
    cache.put("k", 1, li, 1100.0)
    assert cache.get("k", 2) is None and len(cache) == 0  # another generation empties it
    cache.put("k", 1, li, 1100.0)  # resolved under the generation since replaced: not kept
    assert cache.get("k", 2) is None


def test_many_tokens_do_not_grow_the_cache_past_its_cap(
    client: TestClient, users: UserStore, settings: Settings
) -> None:
    users.principals = PrincipalCache(maxsize=4)
    user = users.create_user("li", PASSWORD, "analyst")
    start = datetime.now(UTC)
    tokens = [create_access_token(user, settings, now=start - timedelta(seconds=i))[0] for i in range(10)]
    for token in tokens:
        assert me(client, {"Authorization": f"Bearer {token}"}).status_code == 200
    assert len(users.principals) == 4


def test_an_api_keys_use_is_noted_again_once_a_minute(
    client: TestClient, users: UserStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cached key is looked up again (and its use noted, last_used_at) once its minute is over."""
    now = [time.time()]
    users.principals = PrincipalCache(timer=lambda: now[0])
    li = users.create_user("li", PASSWORD, "station")
    record, key = users.create_api_key(li.id, "feed")
    lookups: list[str] = []
    real = users.repository.user_for_key

    def counted(digest: str, used_at: str) -> User | None:
        lookups.append(used_at)
        return real(digest, used_at)

    monkeypatch.setattr(users.repository, "user_for_key", counted)
    for step in (0, 30, 29, 2, 1):
        now[0] += step
        assert me(client, {"X-API-Key": key}).status_code == 200
    assert len(lookups) == 2  # the first request and the one past the minute
    noted = users.get_api_key(record.id)
    assert noted is not None and noted.last_used_at == lookups[-1]
